#pragma once

#include "aether/persistence/event_type_name.hpp"

#include <boost/preprocessor/seq/enum.hpp>
#include <boost/preprocessor/seq/for_each.hpp>
#include <boost/preprocessor/seq/transform.hpp>
#include <boost/preprocessor/tuple/elem.hpp>
#include <boost/preprocessor/variadic/to_seq.hpp>

/// Defines a typed event in one line, as a record or case class would:
///
///   AETHER_DEFINE_EVENT(deposited, "deposited", (int64_t, amount),
///                       (std::string, note))
///
/// is the struct `deposited { int64_t amount{}; std::string note{}; }` with
/// its wire name and described fields (`AETHER_EVENT`). Use it at namespace
/// scope. A field type with a comma (`std::map<K, V>`) needs an alias, and
/// an event without fields, or with members of its own, is a plain struct
/// with `AETHER_EVENT` after it.
#define AETHER_DEFINE_EVENT(T, name, ...)                                      \
  struct T {                                                                   \
    BOOST_PP_SEQ_FOR_EACH(AETHER_DETAIL_EVENT_FIELD, _,                        \
                          BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__))               \
  };                                                                           \
  AETHER_EVENT(T, name,                                                        \
               (BOOST_PP_SEQ_ENUM(BOOST_PP_SEQ_TRANSFORM(                      \
                 AETHER_DETAIL_EVENT_FIELD_NAME, _,                            \
                 BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__)))))

#define AETHER_DETAIL_EVENT_FIELD(r, data, field)                              \
  BOOST_PP_TUPLE_ELEM(2, 0, field) BOOST_PP_TUPLE_ELEM(2, 1, field){};

#define AETHER_DETAIL_EVENT_FIELD_NAME(s, data, field)                         \
  BOOST_PP_TUPLE_ELEM(2, 1, field)
