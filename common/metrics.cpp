#include "common/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace vigil::common {

std::string serialize_metrics(prometheus::Registry& registry) {
  const prometheus::TextSerializer serializer;
  return serializer.Serialize(registry.Collect());
}

}  // namespace vigil::common
