// face_recognition_net.h
//
// dlib's face-recognition ResNet ("dlib_face_recognition_resnet_model_v1",
// dlib's `anet_type`) in its inference form: batch norm folded into affine
// layers. Maps a 150x150 RGB face chip to a 128-float descriptor; the layer
// table and its TF.js weight names are in face-pipeline.md §3.
//
// Including this header is cheap; instantiating the network (forward pass,
// serialisation, layer visitors) costs about 25 s and 1 GB of compiler memory
// per translation unit, so only model_converter.cc and face_embedder.cc do.
// Everyone else goes through FaceEmbedder.

#ifndef ABIS_FACE_FACE_RECOGNITION_NET_H_
#define ABIS_FACE_FACE_RECOGNITION_NET_H_

#include <dlib/dnn.h>

namespace abis::face {
namespace resnet {

// The stride sits on the first convolution ("conv1" in the TF.js names).
template <int kFilters, int kStride, typename SUBNET>
using Block = dlib::affine<
    dlib::con<kFilters, 3, 3, 1, 1,
              dlib::relu<dlib::affine<dlib::con<kFilters, 3, 3, kStride, kStride, SUBNET>>>>>;

template <int kFilters, typename SUBNET>
using Residual = dlib::add_prev1<Block<kFilters, 1, dlib::tag1<SUBNET>>>;

// Halves the resolution; the skip path is a 2x2 average pool, and dlib's
// add_prev zero-pads the smaller operand (size and channels) to match.
template <int kFilters, typename SUBNET>
using ResidualDown = dlib::add_prev2<
    dlib::avg_pool<2, 2, 2, 2, dlib::skip1<dlib::tag2<Block<kFilters, 2, dlib::tag1<SUBNET>>>>>>;

template <int kFilters, typename SUBNET>
using Ares = dlib::relu<Residual<kFilters, SUBNET>>;
template <int kFilters, typename SUBNET>
using AresDown = dlib::relu<ResidualDown<kFilters, SUBNET>>;

// 150 -> conv 7x7/2 -> 72 -> max pool 3x3/2 -> 35.
template <typename SUBNET>
using Stem =
    dlib::max_pool<3, 3, 2, 2, dlib::relu<dlib::affine<dlib::con<32, 7, 7, 2, 2, SUBNET>>>>;

// Levels from the output (0) to the input (4), as dlib names them.
template <typename SUBNET>
using Level0 = AresDown<256, SUBNET>;
template <typename SUBNET>
using Level1 = Ares<256, Ares<256, AresDown<256, SUBNET>>>;
template <typename SUBNET>
using Level2 = Ares<128, Ares<128, AresDown<128, SUBNET>>>;
template <typename SUBNET>
using Level3 = Ares<64, Ares<64, Ares<64, AresDown<64, SUBNET>>>>;
template <typename SUBNET>
using Level4 = Ares<32, Ares<32, Ares<32, SUBNET>>>;

}  // namespace resnet

inline constexpr long kFaceChipSize = 150;
inline constexpr long kFaceDescriptorSize = 128;

using FaceRecognitionResNet = dlib::loss_metric<dlib::fc_no_bias<
    kFaceDescriptorSize,
    dlib::avg_pool_everything<resnet::Level0<resnet::Level1<resnet::Level2<resnet::Level3<
        resnet::Level4<resnet::Stem<dlib::input_rgb_image_sized<kFaceChipSize>>>>>>>>>>;

}  // namespace abis::face

#endif  // ABIS_FACE_FACE_RECOGNITION_NET_H_
