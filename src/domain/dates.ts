// One way to write a moment for people, in pages and emails alike: "6 Dec 2026,
// 03:02 UTC". UTC until people can choose their time zone (DESIGN.md row 21).
const FORMAT = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

export function formatMoment(timeInMilliseconds: number): string {
  return `${FORMAT.format(new Date(timeInMilliseconds))} UTC`;
}
