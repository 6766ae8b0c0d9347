"""Passwords and tokens of DICOMweb nodes: from the environment or the system keyring.

Nothing secret is kept in the settings or written to a log.  For a node the secret is
looked up, in order, in

1. ``$WORKSTATION_PACS_SECRET_<NAME>`` (the node name upper-cased, other characters
   than A-Z and 0-9 as ``_``), for services and scripts;
2. ``$WORKSTATION_PACS_SECRET``, for a one-off command line;
3. the system keyring (``keyring``: Secret Service, KWallet, macOS Keychain, Windows
   Credential Locker), service ``workstation-pacs:<node>``, the node's user name
   (``bearer`` for a token).
"""

from __future__ import annotations

import logging
import os
import re

from workstation.io.pacs.errors import Fault, PacsError
from workstation.io.pacs.nodes import DicomWebNode

log = logging.getLogger(__name__)
ENV_PREFIX = "WORKSTATION_PACS_SECRET"
SERVICE_PREFIX = "workstation-pacs"


def env_name(node: DicomWebNode) -> str:
    """The node's own environment variable, e.g. ``WORKSTATION_PACS_SECRET_MAIN_PACS``."""
    if not node.name:
        return ENV_PREFIX
    return f"{ENV_PREFIX}_{re.sub(r'[^A-Z0-9]', '_', node.name.upper())}"


def _keyring_key(node: DicomWebNode) -> tuple[str, str]:
    service = f"{SERVICE_PREFIX}:{node.name or node.url}"
    return service, node.auth.username if node.auth.kind == "basic" else "bearer"


def find_secret(node: DicomWebNode) -> str | None:
    """The node's password or token, or ``None`` when none is set anywhere."""
    for variable in dict.fromkeys((env_name(node), ENV_PREFIX)):
        value = os.environ.get(variable)
        if value:
            return value
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            return keyring.get_password(*_keyring_key(node))
        except KeyringError as exc:  # no backend, locked collection: not fatal, say why
            log.info("keyring unavailable for a PACS node: %s", type(exc).__name__)
            return None
    except ImportError:
        return None


def require_secret(node: DicomWebNode) -> str:
    """The secret of a node that needs one, or :class:`PacsError` saying where to put it."""
    secret = find_secret(node)
    if not secret:
        raise PacsError(node.label, Fault.AUTH, f"no {'token' if node.auth.kind == 'bearer' else 'password'} "
                        f"is set: store it in the system keyring (PACS dialog > Edit) or set ${env_name(node)}")
    return secret


def store_secret(node: DicomWebNode, secret: str) -> None:
    """Keep ``secret`` in the system keyring (an empty one deletes it)."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    service, user = _keyring_key(node)
    try:
        if secret:
            keyring.set_password(service, user, secret)
        else:
            try:
                keyring.delete_password(service, user)
            except PasswordDeleteError:
                pass
    except KeyringError as exc:
        raise PacsError(node.label, Fault.CONFIG, f"the system keyring cannot store the secret ({type(exc).__name__}); "
                        f"set ${env_name(node)} instead") from None
