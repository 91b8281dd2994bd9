"""What one connection believes about its peers: the last header heard wins over method tags."""

from __future__ import annotations

from hypha_arrow.rpc.peers import HEADER_KEY, MAX_PEERS, Peers

PEER = "ws/peer"


def test_a_peer_never_heard_from_reads_hybrid_frames_as_its_method_tags_say() -> None:
    peers = Peers()
    assert peers.reads_hybrid(PEER, tagged=True) is True
    assert peers.reads_hybrid(PEER, tagged=False) is False
    assert peers.known_hybrid(PEER) is False, "a tag is a belief, not something heard"


def test_the_last_header_heard_wins_over_the_tags() -> None:
    peers = Peers()
    peers.heard(PEER, {"type": "method", HEADER_KEY: 1})
    assert peers.reads_hybrid(PEER, tagged=False) is True and peers.known_hybrid(PEER) is True
    peers.heard(PEER, {"type": "method"})  # a stock client took the id over
    assert peers.reads_hybrid(PEER, tagged=True) is False and peers.known_hybrid(PEER) is False
    peers.heard(PEER, {"type": "method", HEADER_KEY: 1})  # and a hypha_arrow one took it back
    assert peers.reads_hybrid(PEER, tagged=False) is True


def test_a_peer_that_refused_a_hybrid_frame_is_stock_whatever_its_tags_say() -> None:
    peers = Peers()
    peers.heard(PEER, {HEADER_KEY: 1})
    peers.refused_hybrid(PEER)
    assert peers.reads_hybrid(PEER, tagged=True) is False and peers.known_hybrid(PEER) is False


def test_a_peer_that_left_is_forgotten_and_its_tags_apply_again() -> None:
    peers = Peers()
    peers.heard(PEER, {})
    peers.heard("ws/other", {HEADER_KEY: 1})
    peers.left(PEER)
    peers.left("ws/never-heard")  # no error for a peer never heard from
    assert peers.reads_hybrid(PEER, tagged=True) is True and peers.known_hybrid(PEER) is False
    assert peers.known_hybrid("ws/other") is True, "only the peer that left is forgotten"


def test_at_most_max_peers_are_remembered_the_least_recently_heard_forgotten_first() -> None:
    peers = Peers()
    peers.heard(PEER, {})  # stock: heard first, then again just before the flood
    peers.heard("ws/first", {HEADER_KEY: 1})
    peers.heard(PEER, {})
    for index in range(MAX_PEERS - 1):  # an attacker's new client ids
        peers.heard(f"ws/new-{index}", {HEADER_KEY: 1})
    assert peers.known_hybrid("ws/first") is False, "the least recently heard is forgotten"
    assert peers.reads_hybrid(PEER, tagged=True) is False, "heard more recently: still known as stock"
    assert len(peers._reads_hybrid) == MAX_PEERS
