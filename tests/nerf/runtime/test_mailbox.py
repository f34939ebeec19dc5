import threading

from nerf.runtime.mailbox import Backlog, Mailbox

HANG = 60.0  # seconds: a guard against a reader that is never woken, not a speed target


def test_newest_wins_and_take_empties():
    box = Mailbox()
    assert box.take() is None and not box.full
    box.put(1)
    box.put(2)
    assert box.full and box.peek() == 2 and box.puts == 2
    assert box.take() == 2
    assert box.take() is None and not box.full


def test_wait_times_out_then_receives_from_another_thread():
    box = Mailbox()
    assert box.wait(0.01) is None and box.puts == 0  # nothing came: None, and nothing was made up
    box.put("ready")
    assert box.wait(HANG) == "ready" and not box.full  # an item already waiting is taken, not waited for
    threading.Timer(0.02, box.put, args=("hello",)).start()
    assert box.wait(HANG) == "hello"  # the put from the other thread wakes the reader


def test_many_writers_one_reader_never_tears():
    box = Mailbox()
    n_writers, n_items = 4, 2000

    def write(w):
        for i in range(n_items):
            box.put((w, i, w * 100000 + i))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(n_writers)]
    for t in threads:
        t.start()
    seen = 0
    while any(t.is_alive() for t in threads) or box.full:
        item = box.wait(0.01)
        if item is not None:
            w, i, check = item
            assert check == w * 100000 + i  # the item is whole, never mixed from two puts
            seen += 1
    for t in threads:
        t.join()
    assert box.puts == n_writers * n_items
    assert 1 <= seen <= n_writers * n_items


def test_a_backlog_keeps_every_item_in_order_up_to_its_limit():
    errors = Backlog(limit=3)
    assert errors.take() is None and errors.wait(0.01) is None and not errors.full
    for text in ("step failed", "render failed", "save failed", "render failed again"):
        errors.put(text)
    assert errors.full and errors.dropped == 1  # the oldest went, and that is counted
    assert errors.take() == "render failed"
    assert errors.take_all() == ["save failed", "render failed again"] and errors.take() is None
    threading.Timer(0.05, errors.put, ("late",)).start()
    assert errors.wait(10) == "late"
