// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Import direction (DESIGN.md "The shape"): each layer lists the layers it may import.
 * core <- config <- models, voice, engine <- channels, store, runtime <- server <- cli.
 */
const LAYERS = {
  core: [],
  config: ['core'],
  models: ['core', 'config'],
  voice: ['core'],
  engine: ['core', 'config', 'models'],
  store: ['core'],
  channels: ['core', 'config', 'engine', 'store'],
  runtime: ['core', 'config', 'models', 'voice', 'engine', 'store', 'channels'],
  testing: ['core', 'config', 'models', 'voice', 'engine', 'store', 'channels'],
  server: ['core', 'config', 'models', 'voice', 'engine', 'store', 'channels', 'runtime'],
  cli: ['core', 'config', 'models', 'voice', 'engine', 'store', 'channels', 'runtime', 'server', 'testing'],
};
const ALL = Object.keys(LAYERS);

const layerRules = Object.entries(LAYERS).map(([layer, allowed]) => ({
  files: [`src/${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: ALL.filter((l) => l !== layer && !allowed.includes(l)).map((l) => ({
          group: [`../${l}/*`, `../../${l}/*`, `../../../${l}/*`],
          message: `src/${layer} may not import src/${l} (import direction, DESIGN.md).`,
        })),
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['node_modules/**', 'bench/results/**', '.operator/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['bin/*.mjs', 'eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['warn', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'max-lines-per-function': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  ...layerRules,
);
