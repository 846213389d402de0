// A local Redis Cluster for tests: 3 masters + 3 replicas (redis-server --cluster-enabled yes)
// on free loopback ports in a temporary directory, each with a unix socket for the test's own
// client; which node masters a slot; CLUSTER FAILOVER of a replica. Everything is stopped and
// removed at destruction.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fault_util.hpp"
#include "harness.hpp"

namespace wa::test::cluster {

// One cluster node: a redis-server child on a TCP port of 127.0.0.1 and a unix socket.
class Node {
 public:
  Node(const TempDir& dir, int index, int port, int bus_port)
      : name_("node" + std::to_string(index)),
        server_(dir, name_, port,
                {"--cluster-port", std::to_string(bus_port), "--cluster-enabled", "yes",
                 "--cluster-config-file", dir.file(name_ + "/nodes.conf"), "--cluster-node-timeout",
                 "2000"}),
        client_(std::make_unique<Client>(server_.socket())) {}
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void stop() { server_.stop(); }
  int port() const noexcept { return server_.port(); }
  std::string address() const { return server_.address(); }
  const std::string& socket() const noexcept { return server_.socket(); }
  Client& client() { return *client_; }
  // "master" or "slave" (ROLE), "" when the node does not answer.
  std::string role() {
    try {
      const Reply r = client_->cmd({"ROLE"});
      return r.elements.empty() ? std::string() : r.elements[0].str;
    } catch (...) {
      return std::string();
    }
  }
  bool cluster_ok() {
    try {
      return client_->cmd({"CLUSTER", "INFO"}).str.find("cluster_state:ok") != std::string::npos;
    } catch (...) {
      return false;
    }
  }

 private:
  std::string name_;
  TcpRedis server_;
  std::unique_ptr<Client> client_;
};

class LocalCluster {
 public:
  static constexpr int kNodes = 6;

  // Starts the nodes, creates the cluster (one replica per master) and waits until every node
  // reports cluster_state:ok and agrees on the masters. Throws when it does not come up.
  explicit LocalCluster(const TempDir& dir) {
    for (int i = 0; i < kNodes; ++i) {
      const int port = fault::free_port();
      nodes_.push_back(std::make_unique<Node>(dir, i, port, fault::free_port()));
    }
    for (auto& n : nodes_) {
      if (!wait_until([&] { return n->role() == "master"; })) {
        throw std::runtime_error("cluster node " + n->address() + " did not start");
      }
    }
    std::string cmd = "redis-cli --cluster create";
    for (auto& n : nodes_)
      cmd += " " + n->address();
    std::string out;
    if (shell(cmd + " --cluster-replicas 1 --cluster-yes", out) != 0) {
      throw std::runtime_error("redis-cli --cluster create failed:\n" + out);
    }
    if (!wait_settled(std::chrono::seconds(15))) {
      throw std::runtime_error("the cluster did not reach cluster_state:ok");
    }
  }

  Node& node(int i) { return *nodes_.at(static_cast<std::size_t>(i)); }
  int size() const noexcept { return kNodes; }

  // The index of the node that masters `slot` according to node `asked`'s CLUSTER SLOTS, or -1.
  int master_of(int slot, int asked = 0) {
    const Reply r = node(asked).client().cmd({"CLUSTER", "SLOTS"});
    for (const Reply& range : r.elements) {
      if (range.elements.size() < 3 || slot < range.elements[0].integer ||
          slot > range.elements[1].integer) {
        continue;
      }
      return index_of_port(range.elements[2].elements.at(1).integer);
    }
    return -1;
  }
  // The index of a replica of the master at index `master`, or -1. Waits up to 5 s for the
  // master to list one: on a busy machine a replica's link can be up before its master's ROLE
  // shows it.
  int replica_of(int master) {
    int found = -1;
    wait_until(
        [&] {
          const Reply r = node(master).client().cmd({"ROLE"});
          if (r.elements.size() < 3 || r.elements[2].elements.empty()) return false;
          found = index_of_port(std::stoll(r.elements[2].elements[0].elements.at(1).str));
          return true;
        },
        std::chrono::seconds(5));
    return found;
  }

  // CLUSTER FAILOVER on the replica at index `replica`; waits until it is master, its old
  // master a replica, and every node agrees that it masters its slots.
  ::testing::AssertionResult failover(int replica) {
    const int slot = slot_of_master(replica_master(replica));
    const Reply r = node(replica).client().cmd({"CLUSTER", "FAILOVER"});
    if (r.str != "OK") return ::testing::AssertionFailure() << "CLUSTER FAILOVER: " << r.str;
    const bool done = wait_until(
        [&] {
          if (node(replica).role() != "master") return false;
          for (int i = 0; i < kNodes; ++i) {
            if (!node(i).cluster_ok() || master_of(slot, i) != replica) return false;
          }
          return true;
        },
        std::chrono::seconds(15));
    if (done) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "the failover to " << node(replica).address() << " did not complete";
  }

 private:
  int index_of_port(long long port) {
    for (int i = 0; i < kNodes; ++i) {
      if (node(i).port() == port) return i;
    }
    return -1;
  }
  // The master of a replica (from its ROLE: slave, host, port, ...).
  int replica_master(int replica) {
    const Reply r = node(replica).client().cmd({"ROLE"});
    return r.elements.size() > 2 ? index_of_port(r.elements[2].integer) : -1;
  }
  // A slot that the master at index `master` serves (the first of its first range).
  int slot_of_master(int master) {
    const Reply r = node(master).client().cmd({"CLUSTER", "SLOTS"});
    for (const Reply& range : r.elements) {
      if (range.elements.size() >= 3 &&
          index_of_port(range.elements[2].elements.at(1).integer) == master) {
        return static_cast<int>(range.elements[0].integer);
      }
    }
    return -1;
  }
  // Every node reports cluster_state:ok, sees three masters and every replica's link is up.
  bool wait_settled(std::chrono::milliseconds timeout) {
    return wait_until(
        [&] {
          int masters = 0;
          for (int i = 0; i < kNodes; ++i) {
            if (!node(i).cluster_ok()) return false;
            const std::string role = node(i).role();
            if (role == "master") ++masters;
            if (role == "slave" &&
                node(i).client().cmd({"INFO", "replication"}).str.find("master_link_status:up") ==
                    std::string::npos) {
              return false;
            }
          }
          return masters == kNodes / 2;
        },
        timeout);
  }

  std::vector<std::unique_ptr<Node>> nodes_;
};

}  // namespace wa::test::cluster
