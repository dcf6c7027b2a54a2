"""Media in: what a file is (type sniffing and limits), container headers, and decoders."""
