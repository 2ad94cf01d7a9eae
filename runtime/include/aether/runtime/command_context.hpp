#pragma once

#include "aether/persistence/event.hpp"

#include <caf/meta/type_name.hpp>
#include <string>

namespace aether {

/// What a command may say about itself; `persist` copies it into the events
/// it stores (command id and metadata such as correlation and causation
/// ids). Put it into your command messages to carry it.
struct command_context {
  std::string command_id;
  event_metadata metadata;

  command_context& correlation_id(std::string x) {
    metadata[metadata_keys::correlation_id] = std::move(x);
    return *this;
  }
  command_context& causation_id(std::string x) {
    metadata[metadata_keys::causation_id] = std::move(x);
    return *this;
  }
  command_context& user_id(std::string x) {
    metadata[metadata_keys::user_id] = std::move(x);
    return *this;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_context& x) {
  return f(caf::meta::type_name("aether::command_context"), x.command_id,
           x.metadata);
}

/// One event to persist: its type, data and extra metadata.
struct event_draft {
  std::string type;
  boost::json::value data = boost::json::object{};
  event_metadata metadata;
};

} // namespace aether
