"""Analysis and rendering of results files; starts no process and opens no database under test."""
