/** `1 message`, `2 messages`: a count with its noun, for every sentence the console builds around a number. */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}
