export type Role = 'viewer' | 'editor' | 'approver' | 'admin';
