// Loading an agent's configuration: the --config YAML file, its precedence
// against flags and the environment, the secret files, the flag table the
// CLI and the file share, and insecure mode's loopback-only binding.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <set>

#include "core/crypto.h"
#include "node/config/agent_config_file.h"
#include "node/config/agent_flags.h"
#include "tests/unit/temp_dir.h"

namespace shoal::node {
namespace {

std::string a_key() {
  crypto::init();
  return crypto::ClusterKey::generate().to_base64();
}

std::string write(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
  return path;
}

// What the CLI builds from a command line: the values and their names.
AgentConfig flags(std::map<std::string, std::string> given = {}) {
  AgentConfig c;
  for (const auto& entry : given) {
    const std::string& key = entry.first;
    const std::string& value = entry.second;  // not a structured binding: lambdas use it
    const AgentFlag* f = find_agent_flag(key);
    if (f == nullptr) ADD_FAILURE() << "no flag " << key;
    std::visit(
        [&](auto member) {
          auto& field = c.*member;
          using T = std::decay_t<decltype(field)>;
          if constexpr (std::is_same_v<T, std::string>) field = value;
          if constexpr (std::is_same_v<T, int>) field = std::stoi(value);
          if constexpr (std::is_same_v<T, bool>) field = value == "true";
          if constexpr (std::is_same_v<T, std::vector<std::string>>) field.push_back(value);
        },
        f->field);
    c.mark_explicit(key);
  }
  return c;
}

std::optional<std::string> no_env(std::string_view) { return std::nullopt; }

TEST(AgentFlagsTest, NamesAreUniqueAndFindable) {
  std::set<std::string_view> names;
  for (const AgentFlag& f : agent_flags()) {
    EXPECT_TRUE(names.insert(f.name).second) << f.name;
    EXPECT_EQ(find_agent_flag(f.name), &f);
    EXPECT_FALSE(f.help.empty()) << f.name;
    EXPECT_EQ(f.name.find('_'), std::string_view::npos) << "flags use dashes: " << f.name;
  }
  EXPECT_EQ(find_agent_flag("data_dir"), nullptr);
  EXPECT_TRUE(find_agent_flag("api-token")->live);
  EXPECT_TRUE(find_agent_flag("log-level")->live);
  EXPECT_FALSE(find_agent_flag("bind")->live);
  EXPECT_TRUE(find_agent_flag("encrypt")->secret);
}

TEST(AgentConfigFileTest, KeysAreTheFlagsWithoutDashes) {
  AgentConfig c = flags();
  ASSERT_TRUE(apply_config_text(R"(
name: web1
data-dir: /srv/shoal
http-port: 9000
join: [10.0.0.2, "10.0.0.3:7000"]
attr: zone=eu-1
log-json: true
voters: 5
)",
                                "test.yaml", c)
                  .is_ok());
  EXPECT_EQ(c.name, "web1");
  EXPECT_EQ(c.data_dir, "/srv/shoal");
  EXPECT_EQ(c.http_port, 9000);
  EXPECT_EQ(c.join, (std::vector<std::string>{"10.0.0.2", "10.0.0.3:7000"}));
  EXPECT_EQ(c.attrs, (std::vector<std::string>{"zone=eu-1"})) << "one value is a one-item list";
  EXPECT_TRUE(c.log_json);
  EXPECT_EQ(c.voters, 5);
  // What the file set counts as given: --dev and derived defaults keep off it.
  EXPECT_TRUE(c.is_explicit("data-dir"));
  EXPECT_FALSE(c.is_explicit("bind"));
}

TEST(AgentConfigFileTest, FlagsWinOverTheFile) {
  AgentConfig c = flags({{"name", "from-flag"}, {"join", "10.9.9.9"}});
  ASSERT_TRUE(
      apply_config_text("name: from-file\njoin: [10.0.0.1]\nbind: 10.0.0.5\n", "f", c).is_ok());
  EXPECT_EQ(c.name, "from-flag");
  EXPECT_EQ(c.join, (std::vector<std::string>{"10.9.9.9"}));
  EXPECT_EQ(c.bind, "10.0.0.5");
}

TEST(AgentConfigFileTest, BadFilesNameTheFileAndTheKey) {
  struct Case {
    std::string text;
    std::string must_mention;
  };
  for (const Case& bad : std::vector<Case>{
           {"data_dir: /x\n", "unknown key \"data_dir\""},
           {"name: a\nfrobnicate: 1\n", "unknown key \"frobnicate\""},
           {"config: other.yaml\n", "config"},
           {"http-port: eighty\n", "http-port"},
           {"http-port: [1, 2]\n", "http-port"},
           {"name: {a: b}\n", "name"},
           {"join: [{a: b}]\n", "join"},
           {"log-json: maybe\n", "log-json"},
           {"- a\n- b\n", "map"},
           {"name: [unclosed\n", "not valid YAML"},
           {"name: a\nname: b\n", "name"},
       }) {
    AgentConfig c = flags();
    Status st = apply_config_text(bad.text, "/etc/shoal.yaml", c);
    ASSERT_FALSE(st.is_ok()) << bad.text;
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find("/etc/shoal.yaml"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(bad.must_mention), std::string::npos) << st.message();
  }
  // A typo is reported even next to keys the command line overrides.
  AgentConfig c = flags({{"name", "x"}});
  EXPECT_FALSE(apply_config_text("name: y\nnmae: z\n", "f", c).is_ok());
  // An empty file is fine.
  EXPECT_TRUE(apply_config_text("", "f", c).is_ok());
}

TEST(AgentConfigFileTest, LoadReadsTheFileAndTheSecretFiles) {
  test::TempDir dir;
  const std::string key = a_key();
  const std::string key_file = write(dir.path() + "/cluster.key", "\n" + key + "\n");
  const std::string token_file = write(dir.path() + "/token", "s3cret\n");
  const std::string config =
      write(dir.path() + "/shoal.yaml", "name: n1\ndata-dir: " + dir.path() +
                                            "/data\nencrypt-file: " + key_file +
                                            "\napi-token-file: " + token_file + "\n");
  auto loaded = load_agent_config(flags({{"config", config}}));
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->encrypt, key);
  EXPECT_EQ(loaded->api_token, "s3cret");
  EXPECT_FALSE(loaded->insecure);
  EXPECT_TRUE(loaded->warnings.empty());

  // A secret file others can read is used, with a warning.
  ::chmod(token_file.c_str(), 0644);
  loaded = load_agent_config(flags({{"config", config}}));
  ASSERT_TRUE(loaded.is_ok());
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_NE(loaded->warnings[0].find(token_file), std::string::npos);

  // Errors name the flag or the file.
  auto missing = load_agent_config(flags({{"config", dir.path() + "/nope.yaml"}}));
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("--config"), std::string::npos);
  write(dir.path() + "/empty.key", "  \n");
  auto empty =
      load_agent_config(flags({{"name", "n1"}, {"encrypt-file", dir.path() + "/empty.key"}}));
  ASSERT_FALSE(empty.is_ok());
  EXPECT_NE(empty.status().message().find("--encrypt-file"), std::string::npos);
  auto both =
      load_agent_config(flags({{"name", "n1"}, {"encrypt", key}, {"encrypt-file", key_file}}));
  ASSERT_FALSE(both.is_ok());
  EXPECT_NE(both.status().message().find("alternatives"), std::string::npos)
      << both.status().message();
}

TEST(AgentConfigFileTest, AFlagHidesItsWholeGroupInTheFile) {
  test::TempDir dir;
  const std::string file_key = a_key();
  const std::string flag_key = a_key();
  const std::string key_file = write(dir.path() + "/k", flag_key);
  const std::string config =
      write(dir.path() + "/c.yaml", "name: n1\nencrypt: " + file_key + "\napi-token: file-token\n");
  auto loaded = load_agent_config(flags({{"config", config}, {"encrypt-file", key_file}}));
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->encrypt, flag_key) << "--encrypt-file wins over encrypt: in the file";
  EXPECT_EQ(loaded->api_token, "file-token");
}

TEST(AgentConfigFileTest, TheEnvironmentSitsBetweenFlagsAndFile) {
  test::TempDir dir;
  const std::string env_key = a_key();
  const std::string config =
      write(dir.path() + "/c.yaml", "name: n1\nencrypt: " + a_key() + "\napi-token: from-file\n");
  auto env = [&](std::string_view name) -> std::optional<std::string> {
    if (name == kEncryptEnv) return env_key;
    if (name == kApiTokenEnv) return std::string("from-env");
    return std::nullopt;
  };
  AgentConfig f = flags({{"config", config}});
  auto taken = apply_environment(f, env);
  EXPECT_EQ(taken, (std::vector<std::string>{"SHOAL_ENCRYPT", "SHOAL_API_TOKEN"}));
  auto loaded = load_agent_config(f);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->encrypt, env_key);
  EXPECT_EQ(loaded->api_token, "from-env");

  // A flag wins over the variable (which is still reported, to be unset).
  AgentConfig g = flags({{"config", config}, {"api-token", "from-flag"}});
  EXPECT_EQ(apply_environment(g, env).size(), 2u);
  EXPECT_EQ(load_agent_config(g)->api_token, "from-flag");
  // No variables, no change.
  AgentConfig h = flags();
  EXPECT_TRUE(apply_environment(h, no_env).empty());
  EXPECT_FALSE(h.is_explicit("encrypt"));
}

TEST(AgentConfigInsecureTest, GossipAndRpcBindLoopbackOnly) {
  // No key and no --bind: loopback, not 0.0.0.0.
  AgentConfig c = flags({{"name", "n1"}, {"insecure", "true"}});
  auto f = finalize(c);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(f->bind, "127.0.0.1");
  EXPECT_EQ(f->advertise, "127.0.0.1");
  // An explicit non-loopback bind is refused, naming --insecure.
  for (const char* bind : {"0.0.0.0", "10.1.2.3", "::"}) {
    AgentConfig wide = flags({{"name", "n1"}, {"insecure", "true"}, {"bind", bind}});
    auto r = finalize(wide);
    ASSERT_FALSE(r.is_ok()) << bind;
    EXPECT_NE(r.status().message().find("--insecure"), std::string::npos) << r.status().message();
  }
  // --dev without a key is insecure too.
  AgentConfig dev = flags({{"name", "n1"}, {"dev", "true"}, {"bind", "10.1.2.3"}});
  EXPECT_FALSE(finalize(dev).is_ok());
  // Another loopback address is fine; with a key, any address is.
  AgentConfig lo = flags({{"name", "n1"}, {"insecure", "true"}, {"bind", "127.0.9.9"}});
  EXPECT_EQ(finalize(lo)->bind, "127.0.9.9");
  AgentConfig keyed = flags({{"name", "n1"}, {"encrypt", a_key()}, {"bind", "0.0.0.0"}});
  EXPECT_EQ(finalize(keyed)->bind, "0.0.0.0");
}

}  // namespace
}  // namespace shoal::node
