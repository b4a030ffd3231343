// Raft over the encrypted RPC transport (node/net/rpc_transport.h): the glue
// between a RaftHost (node/consensus/raft_host.h) and the agents' RPC connections.
//
// Sending: RaftRpcTransport is the host's Transport. It maps each raft NodeId
// to the peer's --rpc-port endpoint (an address book that the agent fills
// from gossip; set_peer() for now), encodes the Message (raft/codec.h) into
// one RPC frame and hands it to an RpcClient: directly when called on the
// RPC io_context's thread (the agent runs its RaftHost there, so a message
// is on the socket before the host's fsync starts), else by posting to it. Messages to
// peers not in the book are dropped and counted; frames lost with a dropped
// connection are just lost (RpcClient counts them): Raft retransmits.
//
// Receiving: RaftRpcReceiver is the RpcServer's frame handler (or the part of
// it for the Raft channel). It decodes each frame, drops and counts those
// that do not decode, and those whose `from` is not the NodeId the channel
// authenticated (a peer must not speak for another node), and delivers the
// rest to the host.
//
// Frame layout, one Raft message per frame (the plaintext of one
// SecureChannel frame):
//
//   [channel tag: 1 byte = kRaftRpcChannel (0x01)] [raft::codec::encode(Message)]
//
// The tag lets one RPC connection carry other channels later (forwarded
// requests, bids): a frame with another tag is no Raft message.
//
// Threading: RaftRpcTransport::send(), set_peer() and remove_peer() may be
// called from any thread. RaftRpcReceiver::on_frame() runs on the RPC
// io_context's thread (where RpcServer calls its handler). Counters are
// atomics, readable anywhere.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "core/ids.h"
#include "node/consensus/raft_host.h"
#include "node/net/rpc_transport.h"
#include "raft/message.h"

namespace shoal::node {

// Whether `m`, from a member of this agent's cluster, makes an observer
// open a Raft log of its own: a request (append, heartbeat, snapshot, vote)
// means the leader added it as a learner, or a candidate that formed the
// cluster counts on its vote. An answer (say, to a vote it asked for before
// it stepped out of Raft) does not.
bool opens_raft_log(const raft::Message& m);

// The channel tag, first byte of every RPC frame that carries a Raft message.
inline constexpr uint8_t kRaftRpcChannel = 0x01;

// One Message as the plaintext of an RPC frame: the tag, then its encoding.
std::vector<uint8_t> encode_raft_frame(const raft::Message& m);

struct RaftRpcSendStats {
  std::atomic<uint64_t> sent{0};                  // queued on the RpcClient
  std::atomic<uint64_t> dropped_unknown_peer{0};  // no endpoint for `to`
  std::atomic<uint64_t> dropped_send_failed{0};   // RpcClient::send() refused (too large, stopped)
};

// The network Transport of a RaftHost. `rpc_io` runs `client` (one thread);
// the client, the io_context and this transport must outlive every call
// posted by send(): stop the host first, then destroy these once the
// io_context no longer runs handlers (or after it drained).
class RaftRpcTransport : public Transport {
 public:
  RaftRpcTransport(boost::asio::io_context& rpc_io, RpcClient& client);
  RaftRpcTransport(const RaftRpcTransport&) = delete;
  RaftRpcTransport& operator=(const RaftRpcTransport&) = delete;

  // The address book: where node `id` listens for RPC. Replaces an earlier
  // entry; later messages go to the new endpoint.
  void set_peer(const raft::NodeId& id, const boost::asio::ip::tcp::endpoint& endpoint);
  void remove_peer(const raft::NodeId& id);
  std::optional<boost::asio::ip::tcp::endpoint> peer(const raft::NodeId& id) const;

  // Encodes on the caller's thread, then calls RpcClient::send() there if
  // that is rpc_io's thread, else posts it to rpc_io. Never blocks on the
  // network.
  void send(const raft::Message& m) override;

  const RaftRpcSendStats& stats() const { return stats_; }

 private:
  // On rpc_io's thread: RpcClient::send() and the counters.
  void hand_to_client(const boost::asio::ip::tcp::endpoint& to, std::vector<uint8_t> frame);

  boost::asio::io_context& io_;
  RpcClient& client_;
  mutable std::mutex mu_;
  std::map<raft::NodeId, boost::asio::ip::tcp::endpoint> peers_;
  RaftRpcSendStats stats_;
};

struct RaftRpcReceiveStats {
  std::atomic<uint64_t> delivered{0};             // handed to RaftHost::deliver()
  std::atomic<uint64_t> dropped_channel{0};       // empty frame, or another channel's tag
  std::atomic<uint64_t> dropped_decode{0};        // codec::decode_message failed
  std::atomic<uint64_t> dropped_spoofed{0};       // `from` is not the channel's authenticated peer
  std::atomic<uint64_t> dropped_misaddressed{0};  // `to` is not this host
};

// The receiving side for one host. `host` must outlive the RpcServer that
// calls handler() (a stopped host drops deliveries by itself).
class RaftRpcReceiver {
 public:
  explicit RaftRpcReceiver(RaftHost& host) : host_(host) {}
  RaftRpcReceiver(const RaftRpcReceiver&) = delete;
  RaftRpcReceiver& operator=(const RaftRpcReceiver&) = delete;

  // One opened frame from `peer` (the NodeId its handshake authenticated).
  // Never throws; anything malformed is counted and dropped. The connection
  // stays open: a bad frame from a key holder is a bug to count, not a reason
  // to cut the Raft link.
  void on_frame(const NodeId& peer, std::span<const uint8_t> frame);
  // An RpcFrameHandler that calls on_frame(); this receiver must outlive it.
  RpcFrameHandler handler();

  const RaftRpcReceiveStats& stats() const { return stats_; }

 private:
  RaftHost& host_;
  RaftRpcReceiveStats stats_;
};

}  // namespace shoal::node
