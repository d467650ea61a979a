// Ends a variant's vector operations for special_template.h, which kernels.c defines once
// per variant for both precisions.
#undef D_SPLAT
#undef D_LOAD
#undef D_STORE
#undef D_ADD
#undef D_SUB
#undef D_MUL
#undef D_DIV
#undef D_LT
#undef D_SELECT
#undef D_ANY
#undef D_ROUND
#undef D_POW2
#undef D_SPLIT
#undef AVX2_NAME
#undef AVX2_OP
#undef AVX2_TO_INTEGERS_NAME
#undef AVX2_TO_INTEGERS
