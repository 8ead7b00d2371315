// fvc_test_support.h
//
// Test and measurement support for the FVC development data in
// ../shared/data (never part of the product): the resolution of each FVC
// database, a minimal reader of the ISO/IEC 19794-2:2005 templates shipped
// with it (only what the comparison needs; the real codec is
// finger/iso19794_2.h), the mapping of those templates back onto the PNG, and
// the pairing fraction between two minutiae sets.
//
// Thread safety: pure functions.

#ifndef ABIS_FINGER_FVC_TEST_SUPPORT_H_
#define ABIS_FINGER_FVC_TEST_SUPPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "finger/finger_features.h"

namespace abis::finger::fvc {

// Scanner resolution of each FVC database (FVC2002 / FVC2004 pages, as in
// shared/data/sources/fvc_b/README.md). DB4 of both years is synthetic
// (SFinGe) and generated at 500 ppi.
struct Database {
  std::string_view prefix;  // folder prefix, e.g. "fvc2002_db2"
  double ppi;
  std::string_view sensor;
};
inline constexpr Database kDatabases[] = {
    {"fvc2002_db1", 500, "optical Identix TouchView II"},
    {"fvc2002_db2", 569, "optical Biometrika FX2000"},
    {"fvc2002_db3", 500, "capacitive Precise Biometrics 100 SC"},
    {"fvc2002_db4", 500, "synthetic SFinGe v2.51"},
    {"fvc2004_db1", 500, "optical CrossMatch V300"},
    {"fvc2004_db2", 500, "optical DigitalPersona U.are.U 4000"},
    {"fvc2004_db3", 512, "thermal sweep Atmel FingerChip"},
    {"fvc2004_db4", 500, "synthetic SFinGe v3.0"},
};

// Resolution for a folder name like "fvc2004_db3_101"; nullopt if unknown.
std::optional<double> ResolutionFor(std::string_view folder);

// Minutiae of the first view of an ISO 19794-2:2005 record, in the record's
// own coordinates; nullopt if the bytes are not such a record.
struct IsoRecord {
  int width = 0, height = 0;
  std::vector<Minutia> minutiae;
};
std::optional<IsoRecord> ParseIsoMinimal(const std::vector<std::uint8_t>& bytes);

// The shared-data templates were extracted from the PNG stretched to the
// record's size (see its README): map them back to the PNG (png_w x png_h)
// and then to 500 ppi, directions included.
std::vector<Minutia> MapIsoToImage500(const IsoRecord& record, int png_w, int png_h, double ppi);

// Share of `reference` minutiae with one of `ours` within `max_distance` px
// and `max_angle` radians (types ignored); greedy one-to-one.
double PairedFraction(const std::vector<Minutia>& reference, const std::vector<Minutia>& ours,
                      double max_distance, double max_angle);

}  // namespace abis::finger::fvc

#endif  // ABIS_FINGER_FVC_TEST_SUPPORT_H_
