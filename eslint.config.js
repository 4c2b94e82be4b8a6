// ESLint for the planning map's own JavaScript (geo_service/maps/static), run offline by
// `make lint` and by the test suite (tests/geo_service/test_js_lint.py).
const js = require('@eslint/js');
const globals = require('globals');

module.exports = [
  js.configs.recommended,
  {
    files: ['geo_service/**/*.js'],
    languageOptions: {
      ecmaVersion: 2017,
      sourceType: 'script',
      globals: {...globals.browser, L: 'readonly'}
    },
    rules: {
      'eqeqeq': 'error',
      'no-var': 'off',
      'no-implicit-globals': 'error',
      'no-shadow': 'error',
      'no-unused-vars': ['error', {args: 'after-used'}],
      'strict': ['error', 'function'],
      'curly': ['error', 'multi-line'],
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error'
    }
  }
];
