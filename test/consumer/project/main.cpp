// A separate project built against the installed aether package.
#include <aether/persistence/error.hpp>
#include <aether/persistence/event.hpp>
#include <aether/sqlite/sqlite_store.hpp>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2)
    return 2;
  auto store = aether::sqlite_store::open(argv[1]);
  if (!store) {
    std::fprintf(stderr, "%s\n", aether::describe(store.error()).c_str());
    return 1;
  }
  auto res = (*store)->save_event(aether::make_event(
    "created", "consumer-1", 1, boost::json::object{{"ok", true}}));
  if (!res)
    return 1;
  auto events = (*store)->get_events("consumer-1", 1);
  if (!events || events->size() != 1)
    return 1;
  std::printf("consumer: stored and read back version %lld\n",
              static_cast<long long>(res->version));
  return 0;
}
