// Turning VS Code's `codex.*` configuration into the server's settings object. Pure.

/** Keys under `codex.*` that only the VS Code client uses; the server rejects unknown keys. */
export const CLIENT_ONLY_KEYS = ['server', 'trace'] as const;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Deep plain-JSON copy of a configuration section, without the client-only keys. */
export function serverSettings(section: unknown): { [key: string]: Json } {
  const plain = JSON.parse(JSON.stringify(section ?? {})) as { [key: string]: Json };
  for (const key of CLIENT_ONLY_KEYS) delete plain[key];
  return plain;
}

/** Name of the environment variable holding the API key, falling back to the default on junk. */
export function apiKeyEnvName(value: unknown): string {
  return typeof value === 'string' && /^[A-Za-z0-9_]+$/.test(value) ? value : 'OPENAI_API_KEY';
}
