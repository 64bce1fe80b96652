import re
from pathlib import Path

import pytest

from vidzzle_media.config import ConfigError, iter_settings, load_settings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def test_every_setting_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    missing = [f"{s}.{f.name}" for s, f, _ in iter_settings() if f"`{s}.{f.name}`" not in text]
    assert missing == [], f"undocumented settings: {missing}"


def test_documented_settings_exist():
    text = DOCS.read_text(encoding="utf-8")
    known = {f"{s}.{f.name}" for s, f, _ in iter_settings()}
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", text, flags=re.M))
    assert documented - known == set()


def test_precedence_defaults_file_env_flags(tmp_path):
    cfg = tmp_path / "v.toml"
    cfg.write_text('[server]\nport = 9000\nhost = "10.0.0.1"\nappname = "File"\n[ice]\nhost_addresses = ["127.0.0.1"]\n')
    s = load_settings(cfg, environ={"VIDZZLE_SERVER_PORT": "9100", "VIDZZLE_SERVER_APPNAME": "Env"},
                      overrides={"server.port": 9200})
    assert s.server.port == 9200          # flag beats env
    assert s.server.appname == "Env"      # env beats file
    assert s.server.host == "10.0.0.1"    # file beats default
    assert s.ice.host_addresses == ["127.0.0.1"]
    assert s.smtp.port == 587             # default


def test_env_list_and_bool():
    s = load_settings(environ={"VIDZZLE_ICE_STUN_SERVERS": "stun:a:3478, stun:b:3478", "VIDZZLE_TLS_ENABLED": "false"})
    assert s.ice.stun_servers == ["stun:a:3478", "stun:b:3478"]
    assert s.tls.enabled is False


def test_no_third_party_stun_by_default():
    assert load_settings(environ={}).ice.stun_servers == []


@pytest.mark.parametrize("toml, fragment", [
    ('[server]\nport = "x"\n', "server] port"),
    ('[server]\nnope = 1\n', "unknown setting server.nope"),
    ('[nosuch]\na = 1\n', "unknown section"),
    ('[smtp]\nsecurity = "ssl3"\n', "smtp.security"),
    ('[server\n', "v.toml"),
])
def test_bad_config_is_named(tmp_path, toml, fragment):
    cfg = tmp_path / "v.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        load_settings(cfg, environ={})


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "none.toml", environ={})
