import { OperatorError } from '../core/errors.ts';

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string of a parsed config tree. A reference
 * to an unset variable without a default is an error naming the key, so a missing secret never
 * becomes an empty API key at run time.
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      throw new OperatorError(
        'invalid_request',
        'config_invalid',
        `${formatPath(path)}: environment variable ${name} is not set (write \${${name}:-default} to give a default)`,
      );
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, String(i)]));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, [...path, k]);
    return out;
  }
  return value;
}

/** `agents.support.tools[0].webhook.url` from a key path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number' || (typeof p === 'string' && /^\d+$/.test(p))) out += `[${String(p)}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}
