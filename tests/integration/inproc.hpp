// A private redis-server, a client for the test's own commands, and an in-process io_context
// with connections to the server: the fixture of tests that drive queue/ units directly (no
// daemon process).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"
#include "redis/connection.hpp"

namespace wa::test {

class InProcess : public ::testing::Test {
 protected:
  InProcess() : redis_(dir_), c_(redis_.socket()) {}
  ~InProcess() override {
    for (auto& c : conns_)
      c->stop();
    io_.run_for(std::chrono::milliseconds(20));
  }

  redis::Endpoint endpoint() const {
    redis::Endpoint ep;
    ep.unix_socket = redis_.socket();
    return ep;
  }

  // A started connection (ready within 2 s), stopped with the fixture.
  std::shared_ptr<redis::Connection> connect(const std::string& name) {
    auto c = redis::Connection::create(io_.get_executor(), endpoint(), name);
    c->start();
    for (int i = 0; i < 200 && !c->ready(); ++i)
      io_.run_for(std::chrono::milliseconds(10));
    conns_.push_back(c);
    return c;
  }

  // Runs the io_context until `a` completes, and returns its result.
  template <typename T>
  T await(boost::asio::awaitable<T> a) {
    auto f = boost::asio::co_spawn(io_, std::move(a), boost::asio::use_future);
    while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
      io_.run_for(std::chrono::milliseconds(5));
    return f.get();
  }

  TempDir dir_;
  RedisServer redis_;
  Client c_;
  boost::asio::io_context io_;
  std::vector<std::shared_ptr<redis::Connection>> conns_;
};

}  // namespace wa::test
