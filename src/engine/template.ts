/**
 * `{{path.to.value}}` placeholders over plain data. Lookups follow own properties only and nothing
 * is evaluated, so a template from a config file cannot run code or reach prototypes. A missing
 * value renders as the empty string.
 */
export type TemplateVars = Record<string, unknown>;

const PLACEHOLDER = /\{\{\s*([A-Za-z_$][\w$-]*(?:\.[\w$-]+)*)\s*\}\}/g;

export function renderTemplate(template: string, vars: TemplateVars): string {
  if (!template.includes('{{')) return template;
  return template.replace(PLACEHOLDER, (_match, path: string) => format(lookup(vars, path)));
}

function lookup(vars: TemplateVars, path: string): unknown {
  let current: unknown = vars;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function format(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'object':
      if (value === null) return '';
      if (value instanceof Date) return value.toISOString();
      return JSON.stringify(value);
    default:
      return '';
  }
}
