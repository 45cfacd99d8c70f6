// The C compiler flags of every entrypoint build (identity -D flags are added per agent).
/**
 * The flags of the spec (section 4) hardened further. Only warnings that are certain bugs on any
 * compiler are errors: a blanket -Werror would let a newer compiler's new warning stop `au new`
 * (CI builds with more warnings, and the analyzer, and fails on any: test/unit/entrypoint-build).
 * _FORTIFY_SOURCE=3 needs __builtin_dynamic_object_size (GCC >= 12, clang); glibc's headers use
 * level 2 where the compiler lacks it. -U first: some distributions' compilers predefine it.
 */
export const COMPILER_FLAGS = [
  '-O2',
  '-Wall',
  '-Wextra',
  ...[
    'format-security',
    'implicit-function-declaration',
    'implicit-int',
    'incompatible-pointer-types',
    'int-conversion',
    'return-type',
  ].map((w) => `-Werror=${w}`),
  '-U_FORTIFY_SOURCE',
  '-D_FORTIFY_SOURCE=3',
  '-fstack-protector-strong',
  '-fstack-clash-protection',
  '-fPIE',
  '-pie',
  '-Wl,-z,relro,-z,now',
];
