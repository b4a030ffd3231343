// AsioHostExecutor (node/consensus/asio_host_executor.h): posted work runs in order,
// timers fire once, cancel() and re-arming hold, the own thread runs the
// final piece of work and joins. No sleeps: timers are armed in the past
// (due at once) or far in the future (never due within the test).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <future>
#include <vector>

#include "node/consensus/asio_host_executor.h"

namespace shoal::node {
namespace {

TEST(AsioHostExecutor, PostedWorkRunsInOrderOnTheCallersIoContext) {
  boost::asio::io_context io;
  AsioHostExecutor exec(io);
  std::vector<int> order;
  exec.post([&] { order.push_back(1); });
  exec.post([&] {
    order.push_back(2);
    exec.post([&] { order.push_back(4); });
  });
  exec.post([&] { order.push_back(3); });
  EXPECT_TRUE(order.empty());  // never inside post()
  io.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
}

TEST(AsioHostExecutor, ATimerDueAlreadyFiresOnce) {
  boost::asio::io_context io;
  AsioHostExecutor exec(io);
  auto timer = exec.make_timer();
  int fired = 0;
  timer->arm(exec.clock().now() - std::chrono::seconds(1), [&] { ++fired; });
  io.run();
  EXPECT_EQ(fired, 1);
}

TEST(AsioHostExecutor, CancelAndReArmingDropThePendingCallback) {
  boost::asio::io_context io;
  AsioHostExecutor exec(io);
  auto timer = exec.make_timer();
  int first = 0, second = 0;
  timer->arm(exec.clock().now() + std::chrono::hours(1), [&] { ++first; });
  timer->arm(exec.clock().now(), [&] { ++second; });  // replaces the first
  io.run();                                           // returns: nothing else is pending
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);

  io.restart();
  timer->arm(exec.clock().now(), [&] { ++first; });
  timer->cancel();
  io.run();
  EXPECT_EQ(first, 0);

  io.restart();
  auto gone = exec.make_timer();
  gone->arm(exec.clock().now(), [&] { ++first; });
  gone.reset();  // destroying cancels
  io.run();
  EXPECT_EQ(first, 0);
}

TEST(AsioHostExecutor, TheOwnThreadRunsTheLastWorkAndJoins) {
  AsioHostExecutor exec;
  EXPECT_FALSE(exec.join([] {}));  // not started: the caller runs it
  exec.start();
  std::promise<std::thread::id> ran;
  exec.post([&] { ran.set_value(std::this_thread::get_id()); });
  const std::thread::id loop = ran.get_future().get();
  EXPECT_NE(loop, std::this_thread::get_id());
  std::thread::id last;
  EXPECT_TRUE(exec.join([&] { last = std::this_thread::get_id(); }));
  EXPECT_EQ(last, loop);
  EXPECT_FALSE(exec.join([] {}));
}

TEST(AsioHostExecutor, TheCallersIoContextHasNoThreadToJoin) {
  boost::asio::io_context io;
  AsioHostExecutor exec(io);
  exec.start();  // nothing to start
  EXPECT_FALSE(exec.join([] {}));
}

}  // namespace
}  // namespace shoal::node
