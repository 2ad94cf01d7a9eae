#include "aether/core/error.hpp"
#include "aether/tool/commands.hpp"

namespace aether::tool {

int fail(const command_io& io, const std::string& what, int code) {
  io.err << "aether: " << what << '\n';
  return code;
}

int for_each_actor(event_store& store, const command_io& io,
                   const std::string& label,
                   const std::function<caf::error(const std::string&)>& f) {
  auto ids = store.actor_ids();
  if (!ids)
    return fail(io, "cannot list actors: " + describe(ids.error()), exit_store);
  progress bar{io.err, label, ids->size(), progress::enabled(io.progress)};
  for (auto& id : *ids) {
    if (auto err = f(id)) {
      bar.finish();
      return fail(io, "cannot read \"" + id + "\": " + describe(err),
                  exit_store);
    }
    bar.advance(1, id);
  }
  return exit_ok;
}

} // namespace aether::tool
