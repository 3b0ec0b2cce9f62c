"""Build PGP keys and encrypted fixtures in-process, so no test needs a ``gpg`` binary.

Keys come from rPGP (rpgp-py) because it can passphrase-protect what it generates; messages
come from pysequoia (what ``sq`` writes) or rPGP (which, like ``gpg`` by default, can compress
inside the encryption and sign inside the compression). Both ship with ``bankgate[pgp]``.

Other tests reuse :func:`make_encrypted_fixture` to get a PGP-encrypted NACHA file::

    ciphertext, secret_key, passphrase = make_encrypted_fixture(nacha_bytes, tmp_path)
    keys = KeyRing.from_armored(secret_key, passphrase=passphrase)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pysequoia
from openpgp.composed import (
    EncryptionCaps,
    KeyType,
    MessageBuilder,
    SecretKeyParamsBuilder,
    SignedPublicKey,
    SignedSecretKey,
    SubkeyParamsBuilder,
)
from pysequoia.packet import PacketPile, Tag

FIXTURE_PASSPHRASE = "correct horse battery staple"
KeyKind = Literal["cv25519", "rsa"]


def generate_key(
    user_id: str = "bankgate test <test@example.com>",
    *,
    kind: KeyKind = "cv25519",
    passphrase: str | None = None,
    encryption_subkeys: int = 1,
) -> str:
    """An armored secret key: a signing primary and ``encryption_subkeys`` encryption subkeys.

    RSA is 2048-bit to keep tests fast; the format is what matters here, not the strength.
    """
    primary_type = KeyType.rsa(2048) if kind == "rsa" else KeyType.ed25519_legacy()
    builder = (
        SecretKeyParamsBuilder()
        .version(4)
        .key_type(primary_type)
        .can_certify(True)
        .can_sign(True)
        .primary_user_id(user_id)
        .passphrase(passphrase)
    )
    for _ in range(encryption_subkeys):
        sub_type = KeyType.rsa(2048) if kind == "rsa" else KeyType.ecdh("curve25519")
        sub = SubkeyParamsBuilder().version(4).key_type(sub_type).can_encrypt(EncryptionCaps.all())
        builder = builder.subkey(sub.passphrase(passphrase).build())
    return builder.generate().to_armored()


def public_key(armored_secret: str) -> str:
    """The armored certificate (public part) of a secret key."""
    return str(pysequoia.Tsk.from_bytes(armored_secret.encode()).extract_certificate())


def encryption_subkey_ids(armored_key: str) -> list[str]:
    """Key ids of the subkeys whose binding signature allows encryption, in key order."""
    ids: list[str] = []
    current: str | None = None
    for packet in PacketPile.from_bytes(armored_key.encode()):
        if packet.tag in (Tag.SecretSubkey, Tag.PublicSubkey):
            current = packet.key_id
        elif packet.tag == Tag.Signature and current is not None:
            flags = packet.key_flags
            if flags is not None and (flags.transport_encryption or flags.storage_encryption):
                ids.append(current.lower())
                current = None
    return ids


def encrypt(
    plaintext: bytes,
    recipient: str,
    *,
    signer: str | None = None,
    signer_passphrase: str | None = None,
    armor: bool = False,
    compress: bool = False,
    subkey: int = 0,
    file_name: str = "payroll.ach",
) -> bytes:
    """Encrypt ``plaintext`` to ``recipient`` (an armored public or secret key).

    ``compress=True`` gives the layering ``gpg --sign --encrypt`` writes by default
    (encrypted > compressed > signed); otherwise the message is pysequoia's (encrypted > signed).
    ``subkey`` picks which encryption subkey to address (a rotation inside one certificate).
    """
    if not compress and subkey == 0:
        public = public_key(recipient) if "PRIVATE" in recipient else recipient
        cert = pysequoia.Cert.from_bytes(public.encode())
        signing = pysequoia.Tsk.from_bytes(signer.encode()).signer(signer_passphrase) if signer else None
        return pysequoia.encrypt(plaintext, recipients=[cert], signer=signing, armor=armor)
    wanted = encryption_subkey_ids(recipient)[subkey]
    public, _ = SignedPublicKey.from_armor(public_key(recipient) if "PRIVATE" in recipient else recipient)
    target = next(s for s in public.public_subkeys if s.key.key_id.lower() == wanted)
    builder = MessageBuilder.from_bytes(file_name, plaintext)
    if compress:
        builder = builder.compression("zlib")
    if signer:
        signing_key, _ = SignedSecretKey.from_armor(signer)
        builder = builder.sign(signing_key, signer_passphrase)
    builder = builder.seipd_v1("aes256").encrypt_to_key(target)
    return builder.to_armored_string().encode() if armor else builder.to_vec()


def make_encrypted_fixture(plaintext: bytes, tmp_path: Path) -> tuple[Path, str, str]:
    """A PGP-encrypted copy of ``plaintext`` under ``tmp_path``, and the key that opens it.

    Returns ``(ciphertext_path, armored_secret_key, passphrase)``; the key is Curve25519 and
    passphrase-protected, the message binary and unsigned, as a bank's upload typically is.
    """
    secret = generate_key("bankgate fixture <fixture@example.com>", passphrase=FIXTURE_PASSPHRASE)
    path = Path(tmp_path) / "fixture.ach.pgp"
    path.write_bytes(encrypt(plaintext, secret))
    return path, secret, FIXTURE_PASSPHRASE
