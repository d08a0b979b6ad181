const LEVELS: Record<number, [string, number]> = {
  10: ['TRACE', 90],
  20: ['DEBUG', 90],
  30: ['INFO ', 32],
  40: ['WARN ', 33],
  50: ['ERROR', 31],
  60: ['FATAL', 41],
};
/** Fields every line has, shown in the line's head rather than as key=value. */
const HEAD = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'component', 'err']);

/**
 * One pino JSON line as a human reads it in a terminal: time, level, component, message, the
 * remaining fields as key=value, and an error's stack on the lines below. Anything that is not a
 * pino line is returned unchanged.
 */
export function prettyLogLine(line: string, color: boolean): string {
  if (!line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry.level !== 'number' || typeof entry.time !== 'number') return line;
  const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const [label, code] = LEVELS[entry.level] ?? [String(entry.level), 0];
  const time = new Date(entry.time).toISOString().slice(11, 23);
  const component = typeof entry.component === 'string' ? ` ${paint(36, entry.component)}` : '';
  const fields = Object.entries(entry)
    .filter(([k]) => !HEAD.has(k))
    .map(([k, v]) => `${paint(90, `${k}=`)}${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const err = entry.err as { type?: string; message?: string; stack?: string } | undefined;
  const stack = err ? `\n    ${(err.stack ?? `${err.type ?? 'Error'}: ${err.message ?? ''}`).split('\n').join('\n    ')}` : '';
  return `${paint(90, time)} ${paint(code, label)}${component} ${String(entry.msg ?? '')}${fields ? ` ${fields}` : ''}${stack}`;
}
