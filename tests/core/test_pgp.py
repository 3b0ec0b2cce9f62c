"""bankgate.pgp: decrypt and verify without a gpg binary; every bad input is a PgpError.

Keys and messages are made in-process (tests/core/pgp_helpers.py). Where Debian's ``gpg`` is
installed, real gpg output is decrypted too, to prove interoperability; those tests skip when
it is absent, and the module never needs it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pysequoia
import pytest

from bankgate.pgp import (
    BadSignature,
    CorruptMessage,
    DecryptResult,
    KeyRing,
    NoMatchingKey,
    PgpError,
    PublicKeys,
    UnverifiableSignature,
    decrypt,
)
from tests.core.pgp_helpers import (
    FIXTURE_PASSPHRASE,
    encrypt,
    encryption_subkey_ids,
    generate_key,
    make_encrypted_fixture,
    public_key,
)

NACHA = (Path(__file__).resolve().parents[2] / "samples" / "nacha" / "payroll-ppd-ccd.ach").read_bytes()
PASSPHRASE = "s3cret-Passphrase-for-tests"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    """Armored secret keys, generated once: ours (RSA, Curve25519), the bank's signing key, a stranger's."""
    return {
        "rsa": generate_key("bankgate rsa <rsa@example.com>", kind="rsa"),
        "cv25519": generate_key("bankgate cv <cv@example.com>"),
        "bank": generate_key("Citadel Bank <pgp@citadel.example>"),
        "stranger": generate_key("Mallory <m@example.com>"),
        "protected": generate_key("bankgate protected <p@example.com>", passphrase=PASSPHRASE),
    }


def open_message(path: Path, ring: KeyRing, **kwargs: object) -> tuple[DecryptResult, bytes]:
    out = path.with_name(path.name + ".out")
    result = decrypt(path, keys=ring, out=out, **kwargs)  # type: ignore[arg-type]
    return result, out.read_bytes()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".pgp-"))


# -- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rsa", "cv25519"])
@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_round_trip(keys: dict[str, str], tmp_path: Path, kind: str, armor: bool, signed: bool) -> None:
    ring = KeyRing.from_armored(keys[kind])
    path = tmp_path / "payroll.ach.pgp"
    path.write_bytes(encrypt(NACHA, keys[kind], signer=keys["bank"] if signed else None, armor=armor))

    result, plaintext = open_message(path, ring, verify_with=public_key(keys["bank"]))

    assert sha(plaintext) == sha(NACHA)
    assert result.bytes_out == len(NACHA)
    assert result.decrypted_with in ring.key_ids
    assert result.recipients == (result.decrypted_with,)
    assert result.signed is signed
    if signed:
        assert result.signature_valid is True
        assert result.signer == PublicKeys.from_armored(keys["bank"]).fingerprints[0]
    else:
        assert (result.signature_valid, result.signer) == (None, None)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armored"])
def test_signed_inside_compression_is_verified(keys: dict[str, str], tmp_path: Path, armor: bool) -> None:
    """gpg's default layering (encrypted > compressed > signed): pysequoia cannot check it, rPGP does."""
    path = tmp_path / "payroll.ach.gpg"
    path.write_bytes(encrypt(NACHA, keys["rsa"], signer=keys["bank"], compress=True, armor=armor))

    result, plaintext = open_message(path, KeyRing.from_armored(keys["rsa"]), verify_with=public_key(keys["bank"]))

    assert sha(plaintext) == sha(NACHA)
    assert (result.signed, result.signature_valid) == (True, True)
    assert result.signer == PublicKeys.from_armored(keys["bank"]).fingerprints[0]


@pytest.mark.parametrize("compress", [False, True])
def test_signatures_are_not_examined_without_verify_keys(keys: dict[str, str], tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "m.pgp"
    path.write_bytes(encrypt(NACHA, keys["cv25519"], signer=keys["stranger"], compress=compress))
    result, plaintext = open_message(path, KeyRing.from_armored(keys["cv25519"]))
    assert plaintext == NACHA
    assert (result.signed, result.signature_valid, result.signer, result.signer_key_ids) == (None, None, None, ())


@pytest.mark.parametrize("compress", [False, True])
def test_unsigned_message_passes_unless_a_signature_is_required(
    keys: dict[str, str], tmp_path: Path, compress: bool
) -> None:
    path = tmp_path / "m.pgp"
    path.write_bytes(encrypt(NACHA, keys["cv25519"], compress=compress))
    ring = KeyRing.from_armored(keys["cv25519"])
    result, plaintext = open_message(path, ring, verify_with=public_key(keys["bank"]))
    assert plaintext == NACHA
    assert (result.signed, result.signature_valid) == (False, None)

    with pytest.raises(BadSignature, match="not signed"):
        decrypt(path, keys=ring, out=tmp_path / "out", verify_with=public_key(keys["bank"]), require_signature=True)
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


def test_streams_in_and_out(keys: dict[str, str], tmp_path: Path) -> None:
    """A stream source is spooled to scratch (Sequoia reads files); a stream sink gets the checked plaintext."""
    data = encrypt(NACHA, keys["cv25519"], signer=keys["bank"], armor=True)
    sink = io.BytesIO()
    result = decrypt(
        io.BytesIO(data),
        keys=KeyRing.from_armored(keys["cv25519"]),
        out=sink,
        verify_with=[public_key(keys["bank"])],
        scratch_dir=tmp_path,
    )
    assert sink.getvalue() == NACHA
    assert result.signature_valid is True
    assert list(tmp_path.iterdir()) == []


# -- wrong keys, tampering, bad signatures ------------------------------------------------------


def test_wrong_key_names_the_recipients(keys: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "m.pgp"
    path.write_bytes(encrypt(NACHA, keys["rsa"]))
    ring = KeyRing.from_armored(keys["stranger"])
    recipient = encryption_subkey_ids(keys["rsa"])[0]

    with pytest.raises(NoMatchingKey) as info:
        decrypt(path, keys=ring, out=tmp_path / "out")

    assert info.value.recipients == (recipient,)
    assert recipient in info.value.reason
    assert ring.key_ids[0] in info.value.reason
    assert not (tmp_path / "out").exists()


def test_tampered_ciphertext_is_corrupt(keys: dict[str, str], tmp_path: Path) -> None:
    data = bytearray(encrypt(NACHA * 20, keys["rsa"]))
    for offset in (len(data) // 2, len(data) - 5):
        tampered = bytearray(data)
        tampered[offset] ^= 0x01
        path = tmp_path / "m.pgp"
        path.write_bytes(tampered)
        with pytest.raises(CorruptMessage):
            decrypt(path, keys=KeyRing.from_armored(keys["rsa"]), out=tmp_path / "out")
        assert not (tmp_path / "out").exists()
        assert leftovers(tmp_path) == []


@pytest.mark.parametrize("compress", [False, True], ids=["sequoia-checked", "rpgp-checked"])
def test_signature_by_an_untrusted_key_is_bad(keys: dict[str, str], tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "m.pgp"
    path.write_bytes(encrypt(NACHA, keys["rsa"], signer=keys["stranger"], compress=compress))
    ring = KeyRing.from_armored(keys["rsa"])
    with pytest.raises(BadSignature) as info:
        decrypt(path, keys=ring, out=tmp_path / "out", verify_with=public_key(keys["bank"]))
    assert not isinstance(info.value, UnverifiableSignature)
    stranger = PublicKeys.from_armored(keys["stranger"]).fingerprints[0]
    assert any(stranger.endswith(i) or i == stranger for i in info.value.signer_key_ids)
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path) == []


def test_in_memory_check_is_capped(keys: dict[str, str], tmp_path: Path) -> None:
    """The compressed-signature fallback reads the message into memory, so it has a limit; over it, refuse."""
    path = tmp_path / "m.pgp"
    path.write_bytes(encrypt(NACHA, keys["rsa"], signer=keys["bank"], compress=True))
    with pytest.raises(UnverifiableSignature, match="limit"):
        decrypt(
            path,
            keys=KeyRing.from_armored(keys["rsa"]),
            out=tmp_path / "out",
            verify_with=public_key(keys["bank"]),
            max_verify_in_memory=len(NACHA) - 1,
        )
    assert not (tmp_path / "out").exists()


# -- keys: rotation, passphrases, secret hygiene --------------------------------------------------


def test_key_rotation_tries_every_key(keys: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "m.pgp"
    path.write_bytes(encrypt(NACHA, keys["cv25519"]))
    ring = KeyRing.from_armored(keys["rsa"] + "\n" + keys["cv25519"])  # old key first, as a secret would hold them
    assert len(ring) == 2

    result, plaintext = open_message(path, ring)

    assert plaintext == NACHA
    assert result.decrypted_with == encryption_subkey_ids(keys["cv25519"])[0]
    combined = KeyRing.from_armored(keys["rsa"]) + KeyRing.from_armored(keys["protected"], passphrase=PASSPHRASE)
    combined += KeyRing.from_armored(keys["cv25519"])
    assert open_message(path, combined)[1] == NACHA


def test_rotation_inside_one_certificate(tmp_path: Path) -> None:
    """A key with a newer encryption subkey: pysequoia alone would only try the first one."""
    secret = generate_key("two subkeys <two@example.com>", encryption_subkeys=2)
    path = tmp_path / "m.pgp"
    path.write_bytes(encrypt(NACHA, secret, subkey=1))
    ring = KeyRing.from_armored(secret)
    assert len(ring.key_ids) == 2

    result, plaintext = open_message(path, ring)

    assert plaintext == NACHA
    assert result.decrypted_with == encryption_subkey_ids(secret)[1]


def test_passphrase_protected_key(keys: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "m.pgp"
    path.write_bytes(encrypt(NACHA, keys["protected"], armor=True))
    ring = KeyRing.from_armored(keys["protected"], passphrase=PASSPHRASE)
    assert open_message(path, ring)[1] == NACHA

    with pytest.raises(PgpError, match="passphrase-protected") as missing:
        KeyRing.from_armored(keys["protected"])
    with pytest.raises(PgpError, match="wrong passphrase") as wrong:
        KeyRing.from_armored(keys["protected"], passphrase="not-" + PASSPHRASE)
    for exc in (missing.value, wrong.value):
        assert PASSPHRASE not in str(exc)
        assert "PRIVATE" not in str(exc)
    # A passphrase given for an unprotected key is harmless (one setting for mixed key sets).
    assert KeyRing.from_armored(keys["rsa"], passphrase=PASSPHRASE).key_ids


def test_signing_with_a_protected_key_and_env_var_escaping(keys: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "m.pgp"
    path.write_bytes(encrypt(NACHA, keys["cv25519"], signer=keys["protected"], signer_passphrase=PASSPHRASE))
    one_line = keys["cv25519"].replace("\n", "\\n")  # how a key often sits in an env var or JSON
    result, plaintext = open_message(
        path, KeyRing.from_armored(one_line), verify_with=public_key(keys["protected"]).replace("\n", "\\n")
    )
    assert plaintext == NACHA
    assert result.signature_valid is True


def test_key_material_errors_never_show_secrets(keys: dict[str, str]) -> None:
    ring = KeyRing.from_armored(keys["protected"], passphrase=PASSPHRASE)
    for shown in (repr(ring), str(ring.key_ids), repr(ring._certs)):
        assert PASSPHRASE not in shown
        assert "PRIVATE" not in shown
    bad_inputs = [
        "",
        "not a key",
        public_key(keys["rsa"]),  # a public key where a secret one is needed
        keys["rsa"][: len(keys["rsa"]) // 2],  # cut in half: no END line
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----\n",
    ]
    for text in bad_inputs:
        with pytest.raises(PgpError) as info:
            KeyRing.from_armored(text, passphrase=PASSPHRASE)
        assert PASSPHRASE not in info.value.reason
    with pytest.raises(PgpError):
        PublicKeys.from_armored("garbage")


# -- malformed input only ever raises PgpError --------------------------------------------------------


def test_random_and_truncated_messages_only_raise_pgp_errors(keys: dict[str, str], tmp_path: Path) -> None:
    rng = random.Random(20261123)
    ring = KeyRing.from_armored(keys["cv25519"])
    verify = PublicKeys.from_armored(keys["bank"])
    originals = [
        encrypt(NACHA, keys["cv25519"], signer=keys["bank"]),
        encrypt(NACHA, keys["cv25519"], signer=keys["bank"], armor=True),
        encrypt(NACHA, keys["cv25519"], signer=keys["bank"], compress=True),
    ]
    cases: list[bytes] = [b"", b"\x00", b"-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----\n"]
    cases += [rng.randbytes(rng.randrange(1, 4096)) for _ in range(60)]
    cases += [bytes([0x84 | rng.choice((0, 0x40))]) + rng.randbytes(rng.randrange(0, 600)) for _ in range(30)]
    for original in originals:
        cases += [original[: rng.randrange(0, len(original))] for _ in range(40)]
        for _ in range(40):
            flipped = bytearray(original)
            flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            cases.append(bytes(flipped))
    path = tmp_path / "m.pgp"
    out = tmp_path / "out"
    outcomes: dict[str, int] = {}
    for case in cases:
        path.write_bytes(case)
        try:
            result = decrypt(path, keys=ring, out=out, verify_with=verify)
        except PgpError as exc:
            assert exc.reason
            outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
            assert not out.exists()
        else:  # a flip the format tolerates (a recipient id, armor whitespace): must still be exact
            assert out.read_bytes() == NACHA and result.signature_valid
            out.unlink()
            outcomes["ok"] = outcomes.get("ok", 0) + 1
    assert outcomes.get("CorruptMessage", 0) > 100
    assert leftovers(tmp_path) == []


def test_signed_but_not_encrypted_message_is_unwrapped(keys: dict[str, str], tmp_path: Path) -> None:
    """Detection calls anything OpenPGP "pgp"; a signed-only message still yields its content."""
    path = tmp_path / "m.asc"
    path.write_bytes(pysequoia.sign(pysequoia.Tsk.from_bytes(keys["bank"].encode()).signer(), NACHA))
    result, plaintext = open_message(path, KeyRing.from_armored(keys["rsa"]), verify_with=public_key(keys["bank"]))
    assert plaintext == NACHA
    assert (result.decrypted_with, result.signature_valid) == (None, True)


def test_repeated_use_leaks_no_descriptors_or_files(keys: dict[str, str], tmp_path: Path) -> None:
    """Warm Lambda containers reuse the process: file descriptors and scratch files must stay flat."""
    ring = KeyRing.from_armored(keys["cv25519"])
    verify = PublicKeys.from_armored(keys["bank"])
    good = tmp_path / "good.pgp"
    good.write_bytes(encrypt(NACHA, keys["cv25519"], signer=keys["bank"], compress=True))
    bad = tmp_path / "bad.pgp"
    bad.write_bytes(good.read_bytes()[:-40])
    out = tmp_path / "out"

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    decrypt(good, keys=ring, out=out, verify_with=verify)  # warm up lazily loaded libraries
    before = fds()
    for _ in range(150):
        assert decrypt(good, keys=ring, out=out, verify_with=verify).signature_valid
        with pytest.raises(CorruptMessage):
            decrypt(bad, keys=ring, out=out, verify_with=verify)
    assert fds() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pgp", "good.pgp", "out"]


@pytest.mark.slow
def test_memory_stays_flat_on_a_large_message(tmp_path: Path) -> None:
    """300 MB through decrypt() in a child process: its private memory stays far below the file size.

    Peak RssAnon is sampled from outside, because the decryption holds the GIL. File-backed RSS
    is left out on purpose: Sequoia memory-maps its input, and those pages are page cache.
    """
    size = 300 * 1024 * 1024
    secret = generate_key("big <big@example.com>")
    (tmp_path / "key.asc").write_text(secret)
    plain = tmp_path / "big.bin"
    with plain.open("wb") as f:
        for _ in range(size // (4 << 20)):
            f.write(os.urandom(4 << 20))
    cert = pysequoia.Cert.from_bytes(public_key(secret).encode())
    pysequoia.encrypt_file(str(plain), str(tmp_path / "big.pgp"), recipients=[cert], armor=False)
    script = (
        "import sys; from pathlib import Path; from bankgate.pgp import KeyRing, decrypt\n"
        "d = Path(sys.argv[1]); ring = KeyRing.from_armored((d / 'key.asc').read_text())\n"
        "print(decrypt(d / 'big.pgp', keys=ring, out=d / 'big.out').bytes_out)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE)
    peak_kib = 0
    while child.poll() is None:
        with contextlib.suppress(OSError), open(f"/proc/{child.pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    peak_kib = max(peak_kib, int(line.split()[1]))
        time.sleep(0.01)
    assert child.returncode == 0
    assert int(child.stdout.read()) == size  # type: ignore[union-attr]
    assert _file_sha(tmp_path / "big.out") == _file_sha(plain)
    # Measured ~170-210 MiB whatever the size (100 MB to 3 GB); holding the plaintext would need > 300.
    assert 0 < peak_kib < 280 * 1024, f"peak private memory {peak_kib // 1024} MiB for a {size >> 20} MiB message"


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# -- the fixture other tests reuse -------------------------------------------------------------------


def test_make_encrypted_fixture(tmp_path: Path) -> None:
    path, secret, passphrase = make_encrypted_fixture(NACHA, tmp_path)
    assert passphrase == FIXTURE_PASSPHRASE
    assert path.read_bytes()[:1] != NACHA[:1]
    result, plaintext = open_message(path, KeyRing.from_armored(secret, passphrase=passphrase))
    assert plaintext == NACHA
    assert result.decrypted_with in result.recipients


# -- interoperability with real gpg (skipped without it) ---------------------------------------------

GPG = shutil.which("gpg")
needs_gpg = pytest.mark.skipif(
    GPG is None, reason="Debian's gpg is not installed (apt-get install gnupg); bankgate.pgp itself never needs it"
)


@dataclass(frozen=True)
class GpgSetup:
    run: Callable[..., bytes]
    ring: KeyRing  # our key as gpg exported it: RSA, passphrase-protected
    bank_public: str  # the bank's ed25519 signing key


@pytest.fixture(scope="module")
def gpg() -> Iterator[GpgSetup]:
    """Run gpg in a throwaway home (short path: gpg-agent's socket name has a length limit)."""
    home = tempfile.mkdtemp(prefix="bg-gpg-", dir="/tmp")
    env = {**os.environ, "GNUPGHOME": home}

    def run(*args: str, stdin: bytes | None = None) -> bytes:
        done = subprocess.run(
            [GPG or "gpg", "--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback", *args],
            input=stdin,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout

    try:
        # Ours: RSA like most bank integrations, passphrase-protected. The bank's: gpg's ed25519 default.
        run("--passphrase", PASSPHRASE, "--quick-gen-key", "Us <us@bankgate.example>", "rsa2048", "sign,cert", "never")
        fpr = next(
            line.split(b":")[9].decode()
            for line in run("--with-colons", "--list-secret-keys", "us@bankgate.example").splitlines()
            if line.startswith(b"fpr:")
        )
        run("--passphrase", PASSPHRASE, "--quick-add-key", fpr, "rsa2048", "encr", "never")
        run("--passphrase", "", "--quick-gen-key", "Bank <bank@bankgate.example>", "future-default", "default", "never")
        secret = run("--armor", "--passphrase", PASSPHRASE, "--export-secret-keys", "us@bankgate.example").decode()
        bank_public = run("--armor", "--export", "bank@bankgate.example").decode()
        yield GpgSetup(run, KeyRing.from_armored(secret, passphrase=PASSPHRASE), bank_public)
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


@needs_gpg
@pytest.mark.parametrize(
    "options",
    [
        ["--sign", "--encrypt"],  # gpg's default: compressed, then signed (the rPGP-checked path)
        ["--sign", "--encrypt", "--armor"],
        ["--sign", "--encrypt", "--compress-algo", "none"],  # encrypted > signed (Sequoia checks it)
        ["--encrypt", "--armor"],
        ["--encrypt", "--throw-keyids"],  # anonymous recipient: every key is tried
    ],
    ids=["signed", "signed-armored", "signed-uncompressed", "armored", "hidden-recipient"],
)
def test_gpg_interoperability(gpg: GpgSetup, tmp_path: Path, options: list[str]) -> None:
    ciphertext = gpg.run(
        "--passphrase", "", "--trust-model", "always", "-u", "bank@bankgate.example",
        "-r", "us@bankgate.example", "--output", "-", *options, stdin=NACHA,
    )  # fmt: skip
    path = tmp_path / "payroll.ach.gpg"
    path.write_bytes(ciphertext)
    bank_public = gpg.bank_public

    result, plaintext = open_message(path, gpg.ring, verify_with=bank_public)

    assert sha(plaintext) == sha(NACHA)
    signed = "--sign" in options
    assert (result.signed, result.signature_valid) == (signed, True if signed else None)
    if signed:
        assert result.signer == PublicKeys.from_armored(bank_public).fingerprints[0]
    if "--throw-keyids" in options:
        assert result.recipients == ("0000000000000000",)
    else:
        assert result.recipients == (result.decrypted_with,)


@needs_gpg
def test_gpg_message_for_another_key(gpg: GpgSetup, keys: dict[str, str], tmp_path: Path) -> None:
    ciphertext = gpg.run("--trust-model", "always", "-r", "bank@bankgate.example", "-o", "-", "--encrypt", stdin=NACHA)
    path = tmp_path / "m.gpg"
    path.write_bytes(ciphertext)
    with pytest.raises(NoMatchingKey) as info:
        decrypt(path, keys=KeyRing.from_armored(keys["rsa"]), out=tmp_path / "out")
    assert len(info.value.recipients) == 1
    assert info.value.recipients[0] in info.value.reason
