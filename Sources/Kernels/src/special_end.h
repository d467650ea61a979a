// Ends a variant of special_template.h: forgets the definitions kernels.c made for it.
#undef DVEC
#undef DMASK
#undef DLANES
#undef DNAME
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
