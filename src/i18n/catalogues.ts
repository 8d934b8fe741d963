// Every language's messages. English defines the keys (messages/en.ts); each other
// catalogue is typed against it, so a missing or extra key fails to compile, and
// test/i18n/catalogues.test.ts checks each message's ICU syntax and placeholders.
import type { Language } from '../domain/languages.js';
import { ar } from './messages/ar.js';
import { de } from './messages/de.js';
import { en, type Catalogue } from './messages/en.js';
import { es } from './messages/es.js';
import { fr } from './messages/fr.js';
import { ja } from './messages/ja.js';
import { ptBR } from './messages/pt-br.js';

export const CATALOGUES: Record<Language, Catalogue> = { en, de, fr, es, 'pt-BR': ptBR, ja, ar };
