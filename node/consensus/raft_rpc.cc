#include "node/consensus/raft_rpc.h"

#include <boost/asio/post.hpp>
#include <utility>

#include "raft/codec.h"

namespace shoal::node {

bool opens_raft_log(const raft::Message& m) {
  switch (m.kind) {
    case raft::MessageKind::kAppend:
    case raft::MessageKind::kHeartbeat:
    case raft::MessageKind::kSnapshot:
    case raft::MessageKind::kPreVote:
    case raft::MessageKind::kVote:
      return true;
    default:
      return false;
  }
}

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::vector<uint8_t> encode_raft_frame(const raft::Message& m) {
  std::vector<uint8_t> body = raft::codec::encode(m);
  std::vector<uint8_t> frame;
  frame.reserve(body.size() + 1);
  frame.push_back(kRaftRpcChannel);
  frame.insert(frame.end(), body.begin(), body.end());
  return frame;
}

// ---- RaftRpcTransport ----

RaftRpcTransport::RaftRpcTransport(asio::io_context& rpc_io, RpcClient& client)
    : io_(rpc_io), client_(client) {}

void RaftRpcTransport::set_peer(const raft::NodeId& id, const tcp::endpoint& endpoint) {
  std::lock_guard lk(mu_);
  peers_[id] = endpoint;
}

void RaftRpcTransport::remove_peer(const raft::NodeId& id) {
  std::lock_guard lk(mu_);
  peers_.erase(id);
}

std::optional<tcp::endpoint> RaftRpcTransport::peer(const raft::NodeId& id) const {
  std::lock_guard lk(mu_);
  auto it = peers_.find(id);
  if (it == peers_.end()) return std::nullopt;
  return it->second;
}

void RaftRpcTransport::send(const raft::Message& m) {
  std::optional<tcp::endpoint> to = peer(m.to);
  if (!to) {
    stats_.dropped_unknown_peer.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // On the RPC thread the frame reaches the socket at once: before the
  // host's fsync that follows a leader's appends.
  if (io_.get_executor().running_in_this_thread()) {
    hand_to_client(*to, encode_raft_frame(m));
    return;
  }
  asio::post(io_, [this, to = *to, frame = encode_raft_frame(m)]() mutable {
    hand_to_client(to, std::move(frame));
  });
}

void RaftRpcTransport::hand_to_client(const tcp::endpoint& to, std::vector<uint8_t> frame) {
  if (client_.send(to, std::move(frame)).is_ok()) {
    stats_.sent.fetch_add(1, std::memory_order_relaxed);
  } else {
    stats_.dropped_send_failed.fetch_add(1, std::memory_order_relaxed);
  }
}

// ---- RaftRpcReceiver ----

void RaftRpcReceiver::on_frame(const NodeId& peer, std::span<const uint8_t> frame) {
  if (frame.empty() || frame[0] != kRaftRpcChannel) {
    stats_.dropped_channel.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Result<raft::Message> m = raft::codec::decode_message(frame.subspan(1));
  if (!m.is_ok()) {
    stats_.dropped_decode.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (m->from != peer) {
    stats_.dropped_spoofed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (m->to != host_.id()) {
    stats_.dropped_misaddressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  stats_.delivered.fetch_add(1, std::memory_order_relaxed);
  host_.deliver(std::move(*m));
}

RpcFrameHandler RaftRpcReceiver::handler() {
  return [this](const NodeId& peer, std::vector<uint8_t> plaintext, RpcReply) {
    on_frame(peer, plaintext);
  };
}

}  // namespace shoal::node
