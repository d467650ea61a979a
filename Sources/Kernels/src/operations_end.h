// Ends a variant's vector operations for special_template.h (kernels.c defines them once for
// the portable variant's two precisions, and once per precision for AVX2).
#undef DMASK
#undef DLANES
#undef D_LOAD
#undef D_STORE
#undef D_ADD
#undef D_SUB
#undef D_MUL
#undef D_DIV
#undef D_LT
#undef D_SELECT
#undef D_ANY
