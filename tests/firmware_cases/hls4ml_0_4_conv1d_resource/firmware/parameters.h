#ifndef PARAMETERS_H_
#define PARAMETERS_H_

#include "ap_int.h"
#include "ap_fixed.h"

#include "nnet_utils/nnet_helpers.h"
//hls-fpga-machine-learning insert includes
#include "nnet_utils/nnet_activation.h"
#include "nnet_utils/nnet_conv.h"
#include "nnet_utils/nnet_conv_large.h"
#include "nnet_utils/nnet_dense.h"
#include "nnet_utils/nnet_dense_compressed.h"
#include "nnet_utils/nnet_dense_large.h"
#include "nnet_utils/nnet_pooling.h"
 
//hls-fpga-machine-learning insert weights
#include "weights/w2.h"
#include "weights/b2.h"
#include "weights/w6.h"
#include "weights/b6.h"
#include "weights/w8.h"
#include "weights/b8.h"

//hls-fpga-machine-learning insert layer-config
struct config2_mult : nnet::dense_config {
    static const unsigned n_in = 15;
    static const unsigned n_out = 4;
    static const unsigned reuse_factor = 3;
    typedef ap_fixed<16,6> accum_t;
    typedef model_default_t bias_t;
    typedef model_default_t weight_t;
};

struct config2 : nnet::conv1d_config {
    static const unsigned pad_left = 2;
    static const unsigned pad_right = 2;
    static const unsigned n_in = N_INPUT_1_1;
    static const unsigned n_chan = N_INPUT_2_1;
    static const unsigned filt_width = 5;
    static const unsigned n_filt = N_FILT_2;
    static const unsigned stride = 1;
    static const unsigned dilation = 1;
    static const unsigned n_out = N_OUTPUTS_2;
    static const unsigned reuse_factor = 3;
    static const unsigned n_zeros = 1;
    static const bool store_weights_in_bram = false;
    typedef ap_fixed<16,6> accum_t;
    typedef model_default_t bias_t;
    typedef model_default_t weight_t;
    typedef config2_mult mult_config;
};

struct relu_config4 : nnet::activ_config {
    static const unsigned n_in = N_OUTPUTS_2*N_FILT_2;
    static const unsigned table_size = 1024;
    static const unsigned io_type = nnet::io_parallel;
    static const unsigned reuse_factor = 1;
    typedef ap_fixed<18,8> table_t;
};

struct config5 : nnet::pooling1d_config {
    static const unsigned n_in = N_OUTPUTS_2*N_FILT_2;
    static const unsigned pool_size = 2;
    static const unsigned n_out = N_OUTPUTS_5*N_FILT_5;
    static const unsigned pad_left = 0;
    static const unsigned pad_right = 0;
    static const unsigned stride = 2;
    static const nnet::Pool_Op pool_op = nnet::Max;
};

struct config6_mult : nnet::dense_config {
    static const unsigned n_in = 12;
    static const unsigned n_out = 3;
    static const unsigned reuse_factor = 2;
    typedef ap_fixed<16,6> accum_t;
    typedef model_default_t bias_t;
    typedef model_default_t weight_t;
};

struct config6 : nnet::conv1d_config {
    static const unsigned pad_left = 0;
    static const unsigned pad_right = 0;
    static const unsigned n_in = N_OUTPUTS_5;
    static const unsigned n_chan = N_FILT_5;
    static const unsigned filt_width = 3;
    static const unsigned n_filt = N_FILT_6;
    static const unsigned stride = 2;
    static const unsigned dilation = 1;
    static const unsigned n_out = N_OUTPUTS_6;
    static const unsigned reuse_factor = 2;
    static const unsigned n_zeros = 1;
    static const bool store_weights_in_bram = false;
    typedef ap_fixed<16,6> accum_t;
    typedef model_default_t bias_t;
    typedef model_default_t weight_t;
    typedef config6_mult mult_config;
};

struct config8 : nnet::dense_config {
    static const unsigned n_in = N_OUTPUTS_6*N_FILT_6;
    static const unsigned n_out = N_LAYER_8;
    static const unsigned io_type = nnet::io_parallel;
    static const unsigned reuse_factor = 3;
    static const unsigned n_zeros = 1;
    static const unsigned n_nonzeros = 35;
    static const bool store_weights_in_bram = false;
    typedef ap_fixed<16,6> accum_t;
    typedef model_default_t bias_t;
    typedef model_default_t weight_t;
    typedef ap_uint<1> index_t;
};


#endif
