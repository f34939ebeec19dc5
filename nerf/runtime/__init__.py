"""Runtime pieces every package may use (engine, viewer, toy): mailboxes, stop signals, the progress
display and records, allocator tuning. Imports nothing from the project."""
