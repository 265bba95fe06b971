import { render } from 'preact';

import '../lib/style.css';
import { App } from './App';

render(<App />, document.getElementById('app')!);
