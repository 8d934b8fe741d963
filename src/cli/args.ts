// A small, strict argument parser: `--name value`, `--flag`, and positional words.
export interface ParsedArgs {
  words: string[];
  /** Each option's value (the last one, when it was given more than once). */
  options: Map<string, string | true>;
  /** Every value of each option with a value, in the order given (`--redirect-uri A
   * --redirect-uri B`). */
  repeated: Map<string, string[]>;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A command that could not be done, with the one-line reason to print. */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
}

export function parseArgs(argv: string[], flags: ReadonlySet<string>): ParsedArgs {
  const words: string[] = [];
  const options = new Map<string, string | true>();
  const repeated = new Map<string, string[]>();
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    if (!arg.startsWith('--')) {
      words.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (flags.has(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      options.set(name, true);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[index + 1];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    if (eq < 0) index += 1;
    options.set(name, value);
    repeated.set(name, [...(repeated.get(name) ?? []), value]);
  }
  return { words, options, repeated };
}

export function requireOption(args: ParsedArgs, name: string): string {
  const value = args.options.get(name);
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

export function optionalOption(args: ParsedArgs, name: string): string | null {
  const value = args.options.get(name);
  return typeof value === 'string' ? value : null;
}

/** Every value of an option that may be given more than once. */
export function optionValues(args: ParsedArgs, name: string): string[] {
  return args.repeated.get(name) ?? [];
}

export function checkKnownOptions(args: ParsedArgs, known: string[]): void {
  for (const name of args.options.keys()) {
    if (!known.includes(name)) throw new UsageError(`unknown option --${name}`);
  }
}
