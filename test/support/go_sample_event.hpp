#pragma once

// An event as the Go aether writes it: encoding/json of an aether.Event,
// time.Time in RFC 3339 with an offset and nanoseconds. Shared by the codec
// and typed-event tests, which must read the same bytes.
namespace aether::test {

inline constexpr const char* go_sample_event
  = R"({"id":"6f1c2a9e-1f0b-4c5e-9a4d-2b7e8c1d0f3a",)"
    R"("eventType":"OrderPlaced","actorId":"order-17",)"
    R"("commandId":"cmd-1","version":2,)"
    R"("data":{"total":1999,"items":["a","b"]},)"
    R"("metadata":{"correlationId":"c-1","causationId":"e-0"},)"
    R"("timestamp":"2024-03-05T12:34:56.789012345+01:00"})";

} // namespace aether::test
