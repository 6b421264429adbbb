import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { JsonSchema } from '../../core/agent.ts';
import { OperatorError, errorMessage } from '../../core/errors.ts';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);

/** Compiled validators by schema text: sessions of the same agent share them. */
const compiled = new Map<string, ValidateFunction>();

export type ArgumentsCheck = (args: unknown) => string | undefined;

/** Compiles a tool's parameter schema into a check that returns an error sentence or nothing. */
export function argumentsCheck(toolName: string, schema: JsonSchema): ArgumentsCheck {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    try {
      validate = ajv.compile(schema);
    } catch (err) {
      throw new OperatorError('invalid_request', 'tool_schema_invalid', `tool ${toolName}: parameters is not a valid JSON Schema: ${errorMessage(err)}`);
    }
    compiled.set(key, validate);
  }
  const check = validate;
  return (args) => (check(args) ? undefined : ajv.errorsText(check.errors, { dataVar: 'arguments' }));
}
