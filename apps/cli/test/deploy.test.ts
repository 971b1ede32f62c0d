// The Kubernetes manifests in deploy/kubernetes: they parse, and name the commands, probes and sizes the
// CLI and server actually have. (The Job's args are also run locally as the Job would run them: eval.test.ts.)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const { loadAll } = createRequire(import.meta.url)('js-yaml') as { loadAll(text: string): unknown[] };
// biome-ignore lint/suspicious/noExplicitAny: parsed manifests are checked field by field below
type Manifest = any;
const manifests = (file: string): Manifest[] => loadAll(readFileSync(new URL(`../../../deploy/kubernetes/${file}`, import.meta.url), 'utf8')) as Manifest[];
const flag = (args: string[], name: string) => args[args.indexOf(name) + 1];

describe('deploy/kubernetes', () => {
  it('eval: an Indexed Job whose completions, parallelism and --shards agree, and a merge Job over the same run', async () => {
    const [job] = manifests('eval-job.yaml');
    expect(job.kind).toBe('Job');
    expect(job.spec.completionMode).toBe('Indexed');
    const container = job.spec.template.spec.containers[0];
    const args: string[] = container.args;
    expect(args.slice(0, 2)).toEqual(['eval', 'pope']);
    expect(Number(flag(args, '--shards'))).toBe(job.spec.completions);
    expect(job.spec.parallelism).toBe(job.spec.completions);
    expect(container.resources.requests.memory).toMatch(/Gi$/);
    const [merge] = manifests('eval-merge-job.yaml');
    const mergeArgs: string[] = merge.spec.template.spec.containers[0].args;
    expect(mergeArgs.slice(0, 3)).toEqual(['eval', 'merge', 'pope']);
    for (const name of ['--out', '--data', '--images']) expect(flag(mergeArgs, name), name).toBe(flag(args, name));
    // Every flag the manifests pass is one the CLI knows (its --help lists it).
    const help = (await runCli(['eval', '--help'])).stdout;
    for (const name of [...args, ...mergeArgs].filter((a) => a.startsWith('--'))) expect(help, name).toContain(name);
  });

  it('serve: readiness on /health, liveness on the port, a grace period longer than the drain, sizes from the preflight', async () => {
    const [deployment, service] = manifests('serve.yaml');
    expect(deployment.kind).toBe('Deployment');
    expect(service.kind).toBe('Service');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const args: string[] = container.args;
    expect(args[0]).toBe('serve');
    expect(flag(args, '--host')).toBe('0.0.0.0');
    const port = Number(flag(args, '--port'));
    expect(container.ports[0].containerPort).toBe(port);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/health', port: container.ports[0].name });
    expect(container.livenessProbe.tcpSocket.port).toBe(container.ports[0].name);
    // The server drains for up to 30 s (drainTimeoutMs) on SIGTERM; Kubernetes must not kill it sooner.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(30);
    expect(container.resources.requests.memory).toMatch(/Gi$/);
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(service.spec.ports[0].targetPort).toBe(container.ports[0].name);
    const help = (await runCli(['serve', '--help'])).stdout;
    for (const name of args.filter((a) => a.startsWith('--'))) expect(help, name).toContain(name);
  });
});
