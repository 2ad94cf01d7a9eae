#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace aether {

/// Tags a blocking job sent to a store I/O worker.
using io_atom = caf::atom_constant<caf::atom("aether_io")>;

/// A blocking piece of work run by a store I/O worker (never on CAF's
/// scheduler threads). The worker runs it and answers with an empty message;
/// the requester reads the result from the job it still holds.
class io_job {
public:
  virtual ~io_job();
  virtual void run() = 0;
};

using io_job_ptr = std::shared_ptr<io_job>;

/// An `io_job` that stores the result of `F`.
template <class F>
class io_job_impl : public io_job {
public:
  using result_type = std::invoke_result_t<F&>;

  explicit io_job_impl(F f) : f_(std::move(f)) {}

  void run() override {
    result_.emplace(f_());
  }

  /// The result; valid after the worker answered.
  result_type& result() {
    return *result_;
  }

  bool done() const {
    return result_.has_value();
  }

private:
  F f_;
  std::optional<result_type> result_;
};

template <class F>
std::shared_ptr<io_job_impl<F>> make_io_job(F f) {
  return std::make_shared<io_job_impl<F>>(std::move(f));
}

} // namespace aether

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aether::io_job_ptr)
