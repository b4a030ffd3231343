// Fuzzes the RPC handshake's decoders (core/rpc_handshake.h) with the
// bytes a peer controls: a hello at a responder, a welcome at an
// initiator, a confirmation after a genuine hello. Nothing may crash, and
// nothing random may complete a handshake.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/rpc_handshake.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shoal;
  static const Keyring keyring(ClusterKey::generate());
  static const NodeId a(0, 1);
  static const NodeId b(0, 2);
  const std::span<const uint8_t> bytes(data, size);
  {
    RpcResponder r(keyring, b, "fuzz");
    (void)r.on_hello(bytes);
  }
  {
    RpcInitiator i(keyring, a, "fuzz");
    (void)i.hello();
    if (i.on_welcome(bytes).is_ok()) std::abort();  // needs the key and this hello
  }
  {
    RpcInitiator i(keyring, a, "fuzz");
    RpcResponder r(keyring, b, "fuzz");
    if (r.on_hello(i.hello()).is_ok() && r.on_confirm(bytes).is_ok()) std::abort();
  }
  return 0;
}
