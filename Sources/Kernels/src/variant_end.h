// Ends a variant of kernel_template.h: forgets the definitions kernels.c made for it.
#undef SCALAR
#undef PANEL_HEIGHT
#undef NARROW_PANEL_HEIGHT
#undef VECTOR
#undef NAME
#undef LANES
#undef V_ZERO
#undef V_SPLAT
#undef V_LOAD
#undef V_STORE
#undef V_ADD
#undef V_MUL
#undef V_SUM8
#undef V_LOAD_FLOATS
#undef V_LOAD_HALVES
#undef D_LOAD_S
#undef D_STORE_S
