#ifndef DEFINES_H_
#define DEFINES_H_

#include "ap_int.h"
#include "ap_fixed.h"

//hls-fpga-machine-learning insert numbers
#define N_INPUT_1_1 6
#define N_INPUT_2_1 6
#define N_INPUT_3_1 2
#define OUT_HEIGHT_2 4
#define OUT_WIDTH_2 4
#define N_FILT_2 3
#define OUT_HEIGHT_5 2
#define OUT_WIDTH_5 2
#define N_FILT_5 3
#define N_LAYER_6 4

//hls-fpga-machine-learning insert layer-precision
typedef ap_fixed<16,6> model_default_t;
typedef ap_fixed<16,6> input_t;
typedef ap_fixed<16,6> layer2_t;
typedef ap_fixed<16,6> layer4_t;
typedef ap_fixed<16,6> layer5_t;
typedef ap_fixed<16,6> layer6_t;

#endif
