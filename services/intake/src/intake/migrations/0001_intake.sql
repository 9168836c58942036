-- Case numbers are human-facing; a sequence is not gapless (a rolled-back registration leaves a
-- hole), which is acceptable: the case id (uuid) is the identity, the number is a label.
CREATE SEQUENCE IF NOT EXISTS case_no_seq;
