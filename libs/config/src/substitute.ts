/**
 * `${VAR}` and `${VAR:-default}` substitution from the environment, applied to
 * every string scalar after YAML parsing (so values cannot inject YAML).
 * `$${` is a literal `${`.
 */
export class MissingVariableError extends Error {
  constructor(readonly variable: string) {
    super(`environment variable \${${variable}} is not set`);
  }
}

const PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function substituteString(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(PATTERN, (whole, name: string | undefined, def: string | undefined) => {
    if (whole === '$${') return '${';
    const v = env[name!];
    if (v !== undefined && v !== '') return v;
    if (def !== undefined) return def;
    throw new MissingVariableError(name!);
  });
}

/** Walks a parsed YAML value; `onError(path, err)` is called for each missing variable. */
export function substituteDeep(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: Array<string | number> = [],
  onError: (path: Array<string | number>, err: MissingVariableError) => void,
): unknown {
  if (typeof value === 'string') {
    try {
      return substituteString(value, env);
    } catch (e) {
      if (e instanceof MissingVariableError) {
        onError(path, e);
        return value;
      }
      throw e;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteDeep(v, env, [...path, i], onError));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteDeep(v, env, [...path, k], onError);
    return out;
  }
  return value;
}
