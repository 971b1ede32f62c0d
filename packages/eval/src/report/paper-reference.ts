/**
 * LLaVA-1.5-7B results reported in the VAR paper (Kang et al., ICLR 2025),
 * base → VAR, in the benchmark's primary metric. Only numbers confirmed from
 * the paper are listed; benchmarks without an entry show no reference.
 */
export const PAPER_LLAVA15_7B: Readonly<Record<string, { readonly metric: string; readonly base: number; readonly var: number }>> = {
  vqav2: { metric: 'accuracy', base: 78.5, var: 78.6 },
  gqa: { metric: 'accuracy', base: 62.0, var: 63.5 },
  vizwiz: { metric: 'accuracy', base: 50.0, var: 53.7 },
  'mm-vet': { metric: 'total', base: 31.1, var: 33.7 },
};
