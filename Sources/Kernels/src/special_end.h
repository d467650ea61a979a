// Ends a precision of special_template.h: forgets its constants and the definitions kernels.c
// made for that precision (operations_end.h forgets the operations shared by precisions).
#undef D_T
#undef DSINGLE
#undef DVEC
#undef DNAME
#undef D_SPLAT
#undef D_ROUND
#undef D_POW2
#undef D_SPLIT
#undef D_LN2_HIGH
#undef D_LN2_LOW
#undef D_LOG_TERMS
#undef D_PSI_MINIMUM
#undef D_PSI_TERMS
#undef D_EXP_TERMS
#undef D_EXP_HIGH
#undef D_EXP_LOW
