// Ends a precision of special_template.h: forgets its constants and what kernels.c defined
// for that precision (operations_end.h forgets the operations shared by the precisions).
#undef D_T
#undef DSINGLE
#undef DVEC
#undef DMASK
#undef DLANES
#undef DNAME
#undef DPORTABLE
#undef DSUF
#undef DINT
#undef DSET1
#undef DUNSIGNED
#undef DBITS
#undef DBIAS
#undef D_LN2_HIGH
#undef D_LN2_LOW
#undef D_LOG_TERMS
#undef D_PSI_MINIMUM
#undef D_PSI_TERMS
#undef D_EXP_TERMS
#undef D_EXP_HIGH
#undef D_EXP_LOW
