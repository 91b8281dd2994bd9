"""Which peers read hybrid frames: learned from what each peer sent last, per connection.

Two tags carry the news. Every frame a hypha_arrow client sends has ``_ha`` in its routing
header, and every method it encodes (services, callbacks, promise callbacks) carries
``_rarrow``. A method tag is what a caller has before it ever heard from the provider (the
service description came from the workspace manager); a header is fresher: the client id
behind a tagged method may since have been taken by a stock client (a provider left, a stock
client reconnected with its id), and that client's first header without ``_ha`` says so.
"""

from __future__ import annotations

HEADER_KEY = "_ha"
"""Routing-header key of every frame a hypha_arrow client sends; the server keeps unknown keys."""
METHOD_TAG = "_rarrow"
"""Key of every method a hypha_arrow client encodes; stock peers keep it and ignore it."""
MAX_PEERS = 10_000
"""Peers remembered per connection, the least recently heard forgotten first: anyone can
connect as many new client ids as they like. A forgotten peer is judged by its tags again,
and a stock one sent a hybrid frame by mistake refuses it and gets the call again, stock."""


class Peers:
    """What one connection last heard from each peer client id."""

    def __init__(self) -> None:
        self._reads_hybrid: dict[str, bool] = {}

    def heard(self, sender: str, header: dict) -> None:
        """A frame from ``sender`` arrived: its header tells what its current connection reads."""
        self._remember(sender, bool(header.get(HEADER_KEY)))

    def left(self, client_id: str) -> None:
        self._reads_hybrid.pop(client_id, None)

    def refused_hybrid(self, client_id: str) -> None:
        """``client_id`` rejected a hybrid frame: whatever its tags say, it is stock now."""
        self._remember(client_id, False)

    def known_hybrid(self, client_id: str) -> bool:
        """Whether the last frame from ``client_id`` came from a hypha_arrow client."""
        return self._reads_hybrid.get(client_id, False)

    def reads_hybrid(self, client_id: str, tagged: bool) -> bool:
        """Whether to send ``client_id`` hybrid frames; ``tagged``: the called method has ``_rarrow``."""
        return self._reads_hybrid.get(client_id, tagged)

    def _remember(self, client_id: str, hybrid: bool) -> None:
        known = self._reads_hybrid
        known.pop(client_id, None)  # re-inserted last: the dict's order is the order last heard
        known[client_id] = hybrid
        if len(known) > MAX_PEERS:
            del known[next(iter(known))]
