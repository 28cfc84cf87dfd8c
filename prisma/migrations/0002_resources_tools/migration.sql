-- Tool registry: sandboxed code and tool allow-lists for custom and plugin tools, plus the
-- personal-data resource tables behind the core.<resource>.* built-in tools.

ALTER TABLE tool_registry ADD COLUMN code TEXT;
ALTER TABLE tool_registry ADD COLUMN allowed_tools TEXT[] NOT NULL DEFAULT '{}';

ALTER TABLE custom_tools ADD COLUMN category TEXT NOT NULL DEFAULT 'custom';
ALTER TABLE custom_tools ADD COLUMN tags TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE custom_tools ADD COLUMN allowed_tools TEXT[] NOT NULL DEFAULT '{}';

-- Every resource row belongs to the principal that created it; idempotency_key makes a
-- retried create (same key) return the same row instead of a duplicate.
CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  title TEXT NOT NULL,
  description TEXT,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'done', 'cancelled')),
  priority INTEGER NOT NULL DEFAULT 0,
  due_at TIMESTAMPTZ(3),
  tags TEXT[] NOT NULL DEFAULT '{}',
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);
CREATE INDEX tasks_owner_id_idx ON tasks (owner_id, created_at);

CREATE TABLE notes (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  title TEXT NOT NULL,
  content TEXT NOT NULL DEFAULT '',
  tags TEXT[] NOT NULL DEFAULT '{}',
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);
CREATE INDEX notes_owner_id_idx ON notes (owner_id, created_at);

CREATE TABLE bookmarks (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  url TEXT NOT NULL,
  title TEXT NOT NULL,
  description TEXT,
  tags TEXT[] NOT NULL DEFAULT '{}',
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);
CREATE INDEX bookmarks_owner_id_idx ON bookmarks (owner_id, created_at);

CREATE TABLE contacts (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  name TEXT NOT NULL,
  email TEXT,
  phone TEXT,
  company TEXT,
  notes TEXT,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);
CREATE INDEX contacts_owner_id_idx ON contacts (owner_id, created_at);

CREATE TABLE calendar_events (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  title TEXT NOT NULL,
  description TEXT,
  location TEXT,
  starts_at TIMESTAMPTZ(3) NOT NULL,
  ends_at TIMESTAMPTZ(3),
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  CHECK (ends_at IS NULL OR ends_at >= starts_at)
);
CREATE INDEX calendar_events_owner_id_idx ON calendar_events (owner_id, starts_at);

CREATE TABLE memories (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  content TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'fact',
  importance INTEGER NOT NULL DEFAULT 0,
  tags TEXT[] NOT NULL DEFAULT '{}',
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);
CREATE INDEX memories_owner_id_idx ON memories (owner_id, created_at);

CREATE TABLE goals (
  id TEXT PRIMARY KEY,
  owner_id TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  title TEXT NOT NULL,
  description TEXT,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'achieved', 'abandoned')),
  progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  target_date TIMESTAMPTZ(3),
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);
CREATE INDEX goals_owner_id_idx ON goals (owner_id, created_at);
