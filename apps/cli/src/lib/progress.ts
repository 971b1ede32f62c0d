/** A progress line on stderr: bar, percentage, count, rate and ETA on a TTY; a line per 10 % otherwise. */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr) {
  const started = Date.now();
  let lastPercent = -10;
  const tty = stream.isTTY === true;
  const format = (seconds: number) => {
    if (!Number.isFinite(seconds)) return '--:--';
    const s = Math.round(seconds);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  return {
    update(done: number, total: number, detail = '') {
      const fraction = total > 0 ? Math.min(1, done / total) : 0;
      const elapsed = (Date.now() - started) / 1000;
      const rate = elapsed > 0 ? done / elapsed : 0;
      const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
      const percent = Math.floor(fraction * 100);
      const text = `${label} ${percent}% ${done}/${total} ${rate.toFixed(1)}/s ETA ${format(eta)}${detail ? ` ${detail}` : ''}`;
      if (tty) {
        const width = 24;
        const filled = Math.round(fraction * width);
        stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text.slice(label.length + 1)}`.slice(0, (stream.columns ?? 120) - 1).padEnd(Math.min(stream.columns ?? 120, 120) - 1));
      } else if (percent >= lastPercent + 10 || done === total) {
        lastPercent = percent;
        stream.write(`${text}\n`);
      }
    },
    finish(message: string) {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      stream.write(`${tty ? '\r\x1b[2K' : ''}${label}: ${message} (${seconds} s)\n`);
    },
  };
}
